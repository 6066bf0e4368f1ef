package main

// Cost in the demo: the real OpenCost, isolated in a loopback-only network
// namespace (it listens on every interface and probes cloud metadata
// addresses when it starts), joined to the host's API server and to a
// Prometheus by socat forwarders over Unix sockets, which cross network
// namespaces because they live in the file system:
//
//	host                                      namespace (lo only)
//	API server 127.0.0.1:P  <- api.sock <-   127.0.0.1:P   <- OpenCost
//	Prometheus 127.0.0.1:Q  <- prom.sock <-  127.0.0.1:Q   <- OpenCost
//	127.0.0.1:R (manager, Prometheus) -> oc.sock -> 127.0.0.1:9003 OpenCost
//
// The same port numbers inside as outside keep the demo's kubeconfig (and
// the API server certificate's 127.0.0.1) valid in the namespace. There is
// no veth and no route: nothing in the namespace can reach off the machine.
//
// With no kubelet, the demo creates a node and running pods in the sample
// Tenants' namespaces, and backfills hours of their usage (and OpenCost's
// own series) into a Prometheus that then scrapes OpenCost, so the Tenants
// show real, non-zero cost.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/costdemo"
	"github.com/canopyhq/canopy/test/tools/prometheus"
)

// netnsSpecEnv carries, to this binary re-executed inside the network
// namespace, what to run there (a JSON netnsSpec).
const netnsSpecEnv = "CANOPY_DEMO_OPENCOST_NETNS"

// Inside the namespace, this binary only guards and runs OpenCost.
func init() {
	if spec := os.Getenv(netnsSpecEnv); spec != "" {
		os.Exit(runInNetns(spec))
	}
}

// netnsSpec is what runs in the namespace: socat forwarders, then OpenCost.
type netnsSpec struct {
	Socat    [][]string `json:"socat"`
	OpenCost string     `json:"openCost"`
	Env      []string   `json:"env"`
	Dir      string     `json:"dir"`
	// HostNetNS is the demo's own network namespace (the link
	// /proc/self/ns/net), which OpenCost's must differ from.
	HostNetNS string `json:"hostNetNS"`
}

// The demo's world for OpenCost: one node, and pods in the sample
// Tenants' namespaces, each using half of what it requests. At 0.25 per
// core-hour and 0.125 per GiB-hour a requested core costs 6 a day and a
// requested GiB 3.
const (
	costNode        = "demo-node"
	costNodeCores   = 8
	costNodeGiB     = 32
	costHistory     = 6 * time.Hour
	costOpenCostJob = "opencost"
)

var costPods = []struct {
	namespace, name  string
	milliCPU, memGiB int64
}{
	{"payments-api", "api-0", 1000, 2},
	{"payments-api-staging", "api-staging-0", 500, 1},
	{"payments-batch", "batch-0", 1000, 4},
	{"search-index", "indexer-0", 1000, 1},
	{"search-index-eu", "indexer-eu-0", 500, 1},
	{"search-query", "query-0", 500, 2},
}

// costStack is OpenCost, its forwarders and its Prometheus. When off, it
// holds why, and the demo runs without cost.
type costStack struct {
	off       string
	flags     []string
	client    client.Client
	root      string
	dir       string
	log       io.Writer
	ocURL     string // OpenCost through the host forwarder
	ocAddr    string
	promPort  int
	apiPort   int
	netnsSpec []byte
	stops     []func()
}

// costPrerequisites returns OpenCost's binary, or why cost must stay off.
func costPrerequisites() (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("OpenCost runs only in its own network namespace (unshare --net), which needs root")
	}
	for _, tool := range []struct{ bin, pkg string }{{"socat", "socat"}, {"unshare", "util-linux"}, {"ip", "iproute2"}} {
		if _, err := exec.LookPath(tool.bin); err != nil {
			return "", fmt.Errorf("%s is missing (apt-get install %s)", tool.bin, tool.pkg)
		}
	}
	if _, err := os.Stat("/usr/bin/promtool"); err != nil && os.Getenv("PROMTOOL_BIN") == "" {
		return "", errors.New("promtool is missing (apt-get install prometheus)")
	}
	return costdemo.OpenCostBinary()
}

// startCost starts OpenCost in its namespace with its forwarders, and
// returns the manager flags that read it. It never fails the demo: when
// cost cannot run it prints one line saying why and returns a stack that
// is off.
func startCost(ctx context.Context, cfg *rest.Config, root, dir, kubeconfig string, log io.Writer) *costStack {
	s := &costStack{root: root, dir: dir, log: log}
	if err := s.start(ctx, cfg, kubeconfig); err != nil {
		s.stop()
		s.off = err.Error()
		fmt.Printf("Cost reporting is off: %s.\n", s.off)
	}
	return s
}

func (s *costStack) start(ctx context.Context, cfg *rest.Config, kubeconfig string) error {
	ocBin, err := costPrerequisites()
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := tenancyv1.AddToScheme(scheme); err != nil {
		return err
	}
	if s.client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return fmt.Errorf("API server address %q: %w", cfg.Host, err)
	}
	if s.apiPort, err = strconv.Atoi(u.Port()); err != nil || u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("API server address %q: want 127.0.0.1:<port>", cfg.Host)
	}
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = controlplane.FreePort(); err != nil {
			return err
		}
	}
	s.promPort = ports[0]
	s.ocAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	s.ocURL = "http://" + s.ocAddr
	costAPIAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))

	// Short, so the sockets' paths stay under the 108-byte limit.
	sockDir, err := os.MkdirTemp("", "canopy-oc-")
	if err != nil {
		return err
	}
	s.stops = append(s.stops, func() { _ = os.RemoveAll(sockDir) })
	apiSock, promSock, ocSock := filepath.Join(sockDir, "api.sock"), filepath.Join(sockDir, "prom.sock"), filepath.Join(sockDir, "oc.sock")

	hostForwards := [][]string{
		{"UNIX-LISTEN:" + apiSock + ",fork", fmt.Sprintf("TCP:127.0.0.1:%d", s.apiPort)},
		{"UNIX-LISTEN:" + promSock + ",fork", fmt.Sprintf("TCP:127.0.0.1:%d", s.promPort)},
		{fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr", ports[1]), "UNIX-CONNECT:" + ocSock},
	}
	for _, fw := range hostForwards {
		if err := s.run("socat", fw, false); err != nil {
			return err
		}
	}
	if err := waitFor(10*time.Second, func() error {
		for _, p := range []string{apiSock, promSock} {
			if _, err := os.Stat(p); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("socat forwarders not listening: %w", err)
	}

	cfgDir := filepath.Join(s.dir, "opencost-config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "default.json"), []byte(costdemo.CustomPricing), 0o644); err != nil {
		return err
	}
	hostNetNS, err := costdemo.OwnNetNS()
	if err != nil {
		return fmt.Errorf("the demo's network namespace: %w", err)
	}
	s.netnsSpec, err = json.Marshal(netnsSpec{
		HostNetNS: hostNetNS,
		Socat: [][]string{
			{fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr", s.apiPort), "UNIX-CONNECT:" + apiSock},
			{fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr", s.promPort), "UNIX-CONNECT:" + promSock},
			{"UNIX-LISTEN:" + ocSock + ",fork", fmt.Sprintf("TCP:127.0.0.1:%d", costdemo.OpenCostPort)},
		},
		OpenCost: ocBin,
		Env:      costdemo.OpenCostEnv(kubeconfig, fmt.Sprintf("http://127.0.0.1:%d", s.promPort), cfgDir, "canopy-demo"),
		Dir:      s.dir,
	})
	if err != nil {
		return err
	}
	s.flags = []string{
		"--opencost-url=" + s.ocURL,
		"--cost-api-bind-address=" + costAPIAddr,
		"--cost-currency=USD",
		// Fresh figures while the demo runs, and a quick retry while
		// OpenCost and its history are still coming up.
		"--cost-interval=20s",
	}
	return nil
}

// launch starts OpenCost in a new network namespace: this binary again,
// which checks the namespace before it starts anything (see runInNetns).
// It starts once the node and pods exist, so that OpenCost's first
// metrics already describe them.
func (s *costStack) launch() error {
	fmt.Println("\nStarting OpenCost " + costdemo.OpenCostVersion + " in a loopback-only network namespace ...")
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the demo binary: %w", err)
	}
	return s.run("unshare", costdemo.UnshareArgs(self), true,
		netnsSpecEnv+"="+string(s.netnsSpec))
}

// run starts a helper process logging to opencost.log, and registers its
// stop. A process group (group) is stopped whole: the namespace's guard
// with its forwarders and OpenCost.
func (s *costStack) run(name string, args []string, group bool, env ...string) error {
	f, err := os.OpenFile(filepath.Join(s.dir, "opencost.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: group}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	pid := cmd.Process.Pid
	signalIt := func(sig syscall.Signal) {
		if group {
			_ = syscall.Kill(-pid, sig)
		} else {
			_ = cmd.Process.Signal(sig)
		}
	}
	s.stops = append(s.stops, func() {
		signalIt(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			signalIt(syscall.SIGKILL)
			<-done
		}
	})
	return nil
}

func (s *costStack) stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// populate, once the sample Tenants are Ready, creates the node and the
// running pods, backfills their history, starts Prometheus and registers
// the chargeback API. On failure it prints why cost is off and stops.
func (s *costStack) populate(ctx context.Context) {
	if s.off != "" {
		return
	}
	if err := s.populateErr(ctx); err != nil {
		s.off = err.Error()
		fmt.Printf("\nCost reporting is off: %s (see %s).\n", s.off, filepath.Join(s.dir, "opencost.log"))
		return
	}
	fmt.Printf("\nCost: OpenCost %s in a loopback-only network namespace, reached through socat at %s, with %s of backfilled history.\n"+
		"Tenants show it in status.cost; chargeback through the Kubernetes API (aggregated cost.canopy.dev):\n"+
		"  bin/kubectl-canopy cost --window mtd\n",
		costdemo.OpenCostVersion, s.ocURL, costHistory)
	s.printTenantCost(ctx)
}

// printTenantCost waits for the manager's first read of OpenCost and
// prints each Tenant's month-to-date spend from its status.
func (s *costStack) printTenantCost(ctx context.Context) {
	list := &tenancyv1.TenantList{}
	err := waitFor(90*time.Second, func() error {
		if err := s.client.List(ctx, list); err != nil {
			return err
		}
		for _, t := range list.Items {
			if !meta.IsStatusConditionTrue(t.Status.Conditions, tenancyv1.ConditionCostAvailable) || t.Status.Cost == nil {
				return fmt.Errorf("tenant %s has no cost yet", t.Name)
			}
		}
		return nil
	})
	if err != nil {
		fmt.Printf("The Tenants' cost is not reported yet (%v): see their status.cost later.\n", err)
		return
	}
	fmt.Println("Month-to-date spend (status.cost.monthToDate):")
	for _, t := range list.Items {
		fmt.Printf("  %s: %s %s\n", t.Name, t.Status.Cost.MonthToDate, t.Status.Cost.Currency)
	}
}

// printTeamCost prints each team's month-to-date cost, read through the
// aggregated cost API by the kubectl plugin, when cost runs.
func (s *costStack) printTeamCost(kubeconfig string) {
	if s.off != "" {
		return
	}
	fmt.Println("\nMonth-to-date cost per team (kubectl canopy cost --window mtd --summary):")
	cmd := exec.Command(filepath.Join(s.root, "bin", "kubectl-canopy"), "--kubeconfig="+kubeconfig, "cost", "--window", "mtd", "--summary")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Printf("The per-team cost is not readable yet (%v): run the command above later.\n", err)
	}
}

func (s *costStack) populateErr(ctx context.Context) error {
	if err := s.createWorkload(ctx); err != nil {
		return err
	}
	if err := s.launch(); err != nil {
		return err
	}
	exposition, err := s.waitForExposition(ctx)
	if err != nil {
		return err
	}
	exported, err := costdemo.ExportedSeries(strings.NewReader(exposition), costOpenCostJob, s.ocAddr)
	if err != nil {
		return err
	}
	history := costdemo.NodeCapacity(costNode, costNodeCores, costNodeGiB<<30)
	for _, p := range costPods {
		history = append(history, costdemo.PodUsage(p.namespace, p.name, "main", costNode, p.milliCPU/2, p.memGiB<<29)...)
	}
	promDir := filepath.Join(s.dir, "opencost-prometheus")
	_ = os.RemoveAll(promDir)
	end := time.Now().UTC().Truncate(time.Minute)
	if err := prometheus.Backfill(ctx, promDir, costdemo.OpenMetrics(append(exported, history...), end, costHistory, time.Minute)); err != nil {
		return err
	}
	_, stopProm, err := prometheus.Start(ctx, prometheus.Options{
		DataDir:        promDir,
		Port:           s.promPort,
		ScrapeTargets:  []string{s.ocAddr},
		JobNames:       []string{costOpenCostJob},
		HonorLabels:    true,
		ScrapeInterval: 15 * time.Second,
		Output:         s.log,
	})
	if err != nil {
		return fmt.Errorf("starting OpenCost's Prometheus: %w", err)
	}
	s.stops = append(s.stops, stopProm)
	return s.installCostAPI(ctx)
}

// createWorkload creates the node and the pods, Running on it since the
// history's start: there is no kubelet to do it.
func (s *costStack) createWorkload(ctx context.Context) error {
	if err := costdemo.CreateNode(ctx, s.client, costNode, "demo-8x32", costNodeCores, costNodeGiB<<30); err != nil {
		return err
	}
	started := time.Now().Add(-costHistory - time.Hour)
	for _, p := range costPods {
		// The ServiceAccount admission plugin needs the namespace's default
		// ServiceAccount, which the controller manager creates.
		if err := waitFor(30*time.Second, func() error {
			return s.client.Get(ctx, client.ObjectKey{Namespace: p.namespace, Name: "default"}, &corev1.ServiceAccount{})
		}); err != nil {
			return fmt.Errorf("namespace %s has no default ServiceAccount: %w", p.namespace, err)
		}
		if err := costdemo.CreateRunningPod(ctx, s.client, p.namespace, p.name, costNode, p.milliCPU, p.memGiB<<30, started); err != nil {
			return err
		}
	}
	return nil
}

// waitForExposition waits until OpenCost's /metrics shows every pod
// running and prices the node, and returns it.
func (s *costStack) waitForExposition(ctx context.Context) (string, error) {
	keys := make([]types.NamespacedName, 0, len(costPods))
	for _, p := range costPods {
		keys = append(keys, types.NamespacedName{Namespace: p.namespace, Name: p.name})
	}
	var body string
	err := waitFor(2*time.Minute, func() error {
		b, err := costdemo.ReadyExposition(ctx, s.ocURL, costNode, keys)
		body = b
		return err
	})
	if err != nil {
		return "", fmt.Errorf("waiting for OpenCost: %w", err)
	}
	return body, nil
}

// installCostAPI registers the aggregated API cost.canopy.dev as
// config/costapi does, but routed to the manager on loopback, whose demo
// certificate names no Service, and waits until it is available.
func (s *costStack) installCostAPI(ctx context.Context) error {
	if err := controlplane.InstallFiles(ctx, s.client,
		filepath.Join(s.root, "config", "costapi", "access_role.yaml"),
		filepath.Join(s.root, "config", "rbac", "finance_role.yaml")); err != nil {
		return fmt.Errorf("installing config/costapi's access role: %w", err)
	}
	var port int64
	for _, f := range s.flags {
		if addr, ok := strings.CutPrefix(f, "--cost-api-bind-address="); ok {
			_, p, _ := net.SplitHostPort(addr)
			n, _ := strconv.Atoi(p)
			port = int64(n)
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "canopy-cost-api", Namespace: "canopy-system"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if err := s.client.Create(ctx, svc); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Service canopy-system/canopy-cost-api: %w", err)
	}
	apiSvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1alpha1.cost.canopy.dev"},
		"spec": map[string]any{
			"group": "cost.canopy.dev", "version": "v1alpha1",
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"insecureSkipTLSVerify": true,
			"service":               map[string]any{"name": svc.Name, "namespace": svc.Namespace, "port": port},
		},
	}}
	if err := s.client.Create(ctx, apiSvc); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating APIService v1alpha1.cost.canopy.dev: %w", err)
	}
	var conds []any
	err := waitFor(time.Minute, func() error {
		got := &unstructured.Unstructured{}
		got.SetAPIVersion("apiregistration.k8s.io/v1")
		got.SetKind("APIService")
		if err := s.client.Get(ctx, client.ObjectKey{Name: "v1alpha1.cost.canopy.dev"}, got); err != nil {
			return err
		}
		conds, _, _ = unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Available" && m["status"] == "True" {
				return nil
			}
		}
		return errors.New("not available")
	})
	if err != nil {
		return fmt.Errorf("APIService v1alpha1.cost.canopy.dev not available (%v): %w", conds, err)
	}
	return nil
}

// runInNetns runs in the namespace: it refuses to go on unless every
// network interface is loopback, then runs the forwarders and OpenCost
// until OpenCost exits or it is told to stop.
func runInNetns(rawSpec string) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "opencost namespace: "+format+"\n", args...)
		return 1
	}
	var spec netnsSpec
	if err := json.Unmarshal([]byte(rawSpec), &spec); err != nil {
		return fail("decoding %s: %v", netnsSpecEnv, err)
	}
	// OpenCost must never reach off the machine: only in a namespace of
	// its own, with nothing but loopback.
	if err := costdemo.CheckLoopbackOnly(spec.HostNetNS); err != nil {
		return fail("%v", err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	var children []*exec.Cmd
	defer func() {
		for _, c := range children {
			_ = c.Process.Signal(syscall.SIGTERM)
			_ = c.Wait()
		}
	}()
	for _, args := range spec.Socat {
		c := exec.Command("socat", args...)
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		if err := c.Start(); err != nil {
			return fail("starting socat %v: %v", args, err)
		}
		children = append(children, c)
	}
	oc := exec.Command(spec.OpenCost)
	oc.Dir = spec.Dir
	oc.Env = append(os.Environ(), spec.Env...)
	oc.Stdout, oc.Stderr = os.Stderr, os.Stderr
	if err := oc.Start(); err != nil {
		return fail("starting OpenCost: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- oc.Wait() }()
	select {
	case err := <-done:
		return fail("OpenCost exited: %v", err)
	case <-sigs:
		_ = oc.Process.Signal(os.Interrupt)
		select {
		case _ = <-done:
		case <-time.After(10 * time.Second):
			_ = oc.Process.Kill()
			_ = <-done
		}
		return 0
	}
}

func waitFor(timeout time.Duration, check func() error) error {
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w: %w", err, last)
	}
	return err
}
