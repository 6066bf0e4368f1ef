package certs

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// covered are the webhooks the traffic goes through; each must be called
// while the certificate rotates.
var covered = []string{
	"namespaces.mutate.hnc.x-k8s.io",              // namespace create (failurePolicy Ignore)
	"namespaces-open.validate.canopy.dev",         // namespace create and delete outside trees (Ignore)
	"namespaces.validate.canopy.dev",              // namespace update inside a tree
	"subnamespaceanchors.validate.canopy.dev",     // anchor create
	"tenant-anchors.tenancy.canopy.dev",           // anchor create
	"hierarchicalresourcequotas.quota.canopy.dev", // HRQ create and update
	"hierarchyconfigurations.validate.canopy.dev", // HierarchyConfiguration update
}

const root = "rot-root"

// traffic is workers making requests through every covered webhook and the
// aggregated cost API until stopped; every error is recorded.
type traffic struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []string
	counts  map[string]*atomic.Int64
	cs      *kubernetes.Clientset
	metrics map[string]float64
	after   map[string]float64
}

func (tr *traffic) total() int64 {
	var n int64
	for _, c := range tr.counts {
		n += c.Load()
	}
	return n
}

// startTraffic sets up a tree (rot-root with one subnamespace) and starts
// one worker per kind of request.
func startTraffic(t *testing.T, _ setup.Options) *traffic {
	t.Helper()
	admin := env.Admin(t)
	ctx := context.Background()
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: root}}); err != nil {
		t.Fatal(err)
	}
	if err := admin.Create(ctx, &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Name: "rot-sub", Namespace: root}}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, waitFor, func(ctx context.Context) error {
		ns := &corev1.Namespace{}
		if err := admin.Get(ctx, client.ObjectKey{Name: "rot-sub"}, ns); err != nil {
			return err
		}
		if ns.Labels["canopy.dev/in-tree"] != "true" {
			return fmt.Errorf("rot-sub not yet in a tree: %v", ns.Labels)
		}
		return nil
	})
	cs, err := kubernetes.NewForConfig(env.CP.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr := &traffic{counts: map[string]*atomic.Int64{}, cs: cs}
	if tr.metrics, err = tr.scrape(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	tr.cancel = cancel
	workers := map[string]struct {
		every time.Duration
		do    func(ctx context.Context, i int) error
	}{
		"namespace create and delete": {150 * time.Millisecond, func(ctx context.Context, i int) error {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rot-ns-" + strconv.Itoa(i)}}
			if err := admin.Create(ctx, ns); err != nil {
				return err
			}
			return admin.Delete(ctx, ns)
		}},
		"anchor create": {400 * time.Millisecond, func(ctx context.Context, i int) error {
			return admin.Create(ctx, &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Name: "rot-a-" + strconv.Itoa(i), Namespace: root}})
		}},
		"HRQ create and update": {200 * time.Millisecond, func(ctx context.Context, i int) error {
			hrq := &hncv1.HierarchicalResourceQuota{
				ObjectMeta: metav1.ObjectMeta{Name: "rot-q-" + strconv.Itoa(i), Namespace: root},
				Spec:       hncv1.HierarchicalResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceConfigMaps: resource.MustParse("1000")}},
			}
			if err := admin.Create(ctx, hrq); err != nil {
				return err
			}
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				if err := admin.Get(ctx, client.ObjectKeyFromObject(hrq), hrq); err != nil {
					return err
				}
				hrq.Spec.Hard[corev1.ResourceConfigMaps] = resource.MustParse(strconv.Itoa(2000 + i))
				return admin.Update(ctx, hrq)
			})
		}},
		"HierarchyConfiguration update": {200 * time.Millisecond, func(ctx context.Context, i int) error {
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				hc := &hncv1.HierarchyConfiguration{}
				if err := admin.Get(ctx, client.ObjectKey{Namespace: "rot-sub", Name: hncv1.Singleton}, hc); err != nil {
					return err
				}
				if hc.Annotations == nil {
					hc.Annotations = map[string]string{}
				}
				hc.Annotations["rot-tick"] = strconv.Itoa(i)
				return admin.Update(ctx, hc)
			})
		}},
		"namespace update in a tree": {200 * time.Millisecond, func(ctx context.Context, i int) error {
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				ns := &corev1.Namespace{}
				if err := admin.Get(ctx, client.ObjectKey{Name: "rot-sub"}, ns); err != nil {
					return err
				}
				if ns.Annotations == nil {
					ns.Annotations = map[string]string{}
				}
				ns.Annotations["rot-tick"] = strconv.Itoa(i)
				return admin.Update(ctx, ns)
			})
		}},
		"cost API through the aggregator": {150 * time.Millisecond, func(ctx context.Context, _ int) error {
			_, err := cs.RESTClient().Get().AbsPath("/apis", costapi.Group, costapi.Version).DoRaw(ctx)
			return err
		}},
	}
	for name, w := range workers {
		c := &atomic.Int64{}
		tr.counts[name] = c
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			tick := time.NewTicker(w.every)
			defer tick.Stop()
			for i := 0; ; i++ {
				rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
				err := w.do(rctx, i)
				rcancel()
				c.Add(1)
				if err != nil {
					tr.mu.Lock()
					tr.errs = append(tr.errs, fmt.Sprintf("%s #%d at %s: %v", name, i, time.Now().Format("15:04:05.000"), err))
					tr.mu.Unlock()
				}
				select {
				case <-wctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	return tr
}

// runFor lets the traffic run for d more.
func (tr *traffic) runFor(t *testing.T, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	<-timer.C
}

// stop ends the workers (each finishes its request) and scrapes the API
// server's admission metrics.
func (tr *traffic) stop() {
	tr.cancel()
	tr.wg.Wait()
	tr.after, _ = tr.scrape(context.Background())
}

// check fails the test for any failed request, any webhook call the API
// server failed or failed open, and any covered webhook not called.
func (tr *traffic) check(t *testing.T) {
	t.Helper()
	names := make([]string, 0, len(tr.counts))
	for n := range tr.counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%-32s %d requests", n, tr.counts[n].Load())
		if tr.counts[n].Load() < 10 {
			t.Errorf("%s made only %d requests", n, tr.counts[n].Load())
		}
	}
	for _, e := range tr.errs {
		t.Errorf("request failed: %s", e)
	}
	if tr.after == nil {
		t.Fatal("could not scrape the API server's metrics after the traffic")
	}
	delta := func(key string) float64 { return tr.after[key] - tr.metrics[key] }
	if d := delta("fail_open"); d != 0 {
		t.Errorf("the API server failed open on %v webhook calls (failurePolicy Ignore hid a failure)", d)
	}
	if d := delta("calling_webhook_error"); d != 0 {
		t.Errorf("the API server could not call a webhook %v times", d)
	}
	for _, w := range covered {
		d := delta("requests/" + w)
		t.Logf("webhook %-46s called %v times", w, d)
		if d == 0 {
			t.Errorf("webhook %s was not called during the rotation", w)
		}
	}
}

// scrape sums the API server's admission-webhook counters: fail_open,
// calling_webhook_error, and requests/<webhook name>.
func (tr *traffic) scrape(ctx context.Context) (map[string]float64, error) {
	fams, err := framework.APIServerMetrics(ctx, tr.cs.RESTClient())
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			labels, v := framework.Labels(m), framework.Value(m)
			switch name {
			case "apiserver_admission_webhook_fail_open_count":
				out["fail_open"] += v
			case "apiserver_admission_webhook_rejection_count":
				if labels["error_type"] == "calling_webhook_error" {
					out["calling_webhook_error"] += v
				}
			case "apiserver_admission_webhook_request_total":
				out["requests/"+labels["name"]] += v
			}
		}
	}
	if len(out) == 0 {
		return nil, apierrors.NewInternalError(fmt.Errorf("no admission-webhook metrics in the API server's /metrics"))
	}
	return out, nil
}
