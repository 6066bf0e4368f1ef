package costdemo

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
)

func TestOpenMetrics(t *testing.T) {
	end := time.Unix(7200, 0)
	got := string(OpenMetrics([]Series{
		{Name: "b_total", Labels: map[string]string{"pod": "p", "instance": "n"}, Rate: 0.5},
		{Name: "a", Labels: map[string]string{"node": "n"}, Value: 8},
	}, end, 2*time.Minute, time.Minute))
	want := `# TYPE a gauge
a{node="n"} 8 7080
a{node="n"} 8 7140
a{node="n"} 8 7200
# TYPE b_total gauge
b_total{instance="n",pod="p"} 0 7080
b_total{instance="n",pod="p"} 30 7140
b_total{instance="n",pod="p"} 60 7200
# EOF
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OpenMetrics (-want +got):\n%s", diff)
	}
}

func TestExportedSeries(t *testing.T) {
	exposition := `# TYPE node_total_hourly_cost gauge
node_total_hourly_cost{node="demo-node",instance_type=""} 6
# TYPE go_goroutines gauge
go_goroutines 12
# TYPE kubecost_requests_total counter
kubecost_requests_total 3
`
	got, err := ExportedSeries(strings.NewReader(exposition), "opencost", "127.0.0.1:9003")
	if err != nil {
		t.Fatal(err)
	}
	want := []Series{{Name: "node_total_hourly_cost", Value: 6,
		Labels: map[string]string{"job": "opencost", "instance": "127.0.0.1:9003", "node": "demo-node"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ExportedSeries (-want +got):\n%s", diff)
	}
	if _, err := ExportedSeries(strings.NewReader("not { an exposition"), "j", "i"); err == nil {
		t.Error("ExportedSeries accepted a malformed exposition")
	}
}

func TestOpenCostEnvTurnsReportingOff(t *testing.T) {
	env := strings.Join(OpenCostEnv("/k", "http://127.0.0.1:9", "/cfg", "c"), "\n")
	for _, want := range []string{"CONFIG_PATH=/cfg/", "PROMETHEUS_SERVER_ENDPOINT=http://127.0.0.1:9", "KUBECONFIG=/k",
		"PRODUCT_ANALYTICS_ENABLED=false", "ERROR_REPORTING_ENABLED=false", "CLOUD_COST_ENABLED=false"} {
		if !strings.Contains(env, want+"\n") && !strings.HasSuffix(env, want) {
			t.Errorf("OpenCost's environment lacks %s:\n%s", want, env)
		}
	}
}

func TestOpenCostEnvPort(t *testing.T) {
	if env := OpenCostEnv("/k", "http://127.0.0.1:9", "/cfg", "c"); !slices.Contains(env, "API_PORT=9003") {
		t.Errorf("OpenCostEnv does not listen on OpenCostPort: %v", env)
	}
	if env := OpenCostEnvOnPort("/k", "http://127.0.0.1:9", "/cfg", "c", 9013); !slices.Contains(env, "API_PORT=9013") || slices.Contains(env, "API_PORT=9003") {
		t.Errorf("OpenCostEnvOnPort(9013) does not listen on 9013 alone: %v", env)
	}
}

func TestCheckLoopbackOnlyRefusesTheParentNamespace(t *testing.T) {
	own, err := OwnNetNS()
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckLoopbackOnly(own); err == nil || !strings.Contains(err.Error(), "not in a new network namespace") {
		t.Errorf("CheckLoopbackOnly(own namespace) = %v, want a refusal", err)
	}
	if err := CheckLoopbackOnly(""); err == nil {
		t.Error("CheckLoopbackOnly accepted an unknown parent namespace")
	}
}

func TestUnshareArgsBringsLoopbackUp(t *testing.T) {
	got := UnshareArgs("/bin/x", "-run", "T")
	want := []string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh", "/bin/x", "-run", "T"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UnshareArgs (-want +got):\n%s", diff)
	}
}

func TestReadyExposition(t *testing.T) {
	exposition := "kube_pod_container_status_running{namespace=\"a\",pod=\"p\"} 1\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, exposition)
	}))
	defer srv.Close()
	pods := []types.NamespacedName{{Namespace: "a", Name: "p"}}
	if _, err := ReadyExposition(context.Background(), srv.URL, "n", pods); err == nil || !strings.Contains(err.Error(), "price node n") {
		t.Errorf("ReadyExposition without the node's price = %v, want an error naming node n", err)
	}
	exposition += "node_total_hourly_cost{node=\"n\"} 6\n"
	got, err := ReadyExposition(context.Background(), srv.URL, "n", pods)
	if err != nil || got != exposition {
		t.Errorf("ReadyExposition = %q, %v; want the exposition", got, err)
	}
	if _, err := ReadyExposition(context.Background(), srv.URL, "n", append(pods, types.NamespacedName{Namespace: "b", Name: "q"})); err == nil || !strings.Contains(err.Error(), "b/q") {
		t.Errorf("ReadyExposition with pod b/q missing = %v, want an error naming it", err)
	}
}
