// Package quotabench measures pod-creation latency with hierarchical quota
// in the admission path (the API server's quota admission plus Canopy's
// status webhook and ledger write) beside two baselines in the same run: a
// namespace with a plain ResourceQuota, and a namespace without any quota,
// for subtrees of 10, 1,000 and 3,000 namespaces. Creations in the three
// namespaces are interleaved, so the three share the machine's load. It
// reports p50 and p99 of each and their ratios (x-plain: hierarchical over
// plain ResourceQuota; x-noquota: over no quota).
//
// It starts a real control plane only when a benchmark is selected, so
// `go test ./...` passes through it at no cost; run it with
// `go test -run '^$' -bench . ./test/bench/quota` (KUBEBUILDER_ASSETS set).
package quotabench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	framework.Main(m, &env)
}

// samples is how many pods are created in each namespace per size.
const samples = 200

func BenchmarkPodAdmission(b *testing.B) {
	for _, size := range []int{10, 1000, 3000} {
		b.Run(fmt.Sprintf("subtree=%d", size), func(b *testing.B) {
			leaf, plain, free := setupTree(b, size)
			var withQuota, withPlain, without []time.Duration
			n := 0
			for b.Loop() {
				for range samples {
					withQuota = append(withQuota, timeCreate(b, leaf, n))
					withPlain = append(withPlain, timeCreate(b, plain, n))
					without = append(without, timeCreate(b, free, n))
					n++
				}
			}
			q, p, f := report(b, "quota", withQuota), report(b, "plainrq", withPlain), report(b, "noquota", without)
			b.ReportMetric(q[0]/p[0], "p50-x-plain")
			b.ReportMetric(q[1]/p[1], "p99-x-plain")
			b.ReportMetric(q[0]/f[0], "p50-x-noquota")
			b.ReportMetric(q[1]/f[1], "p99-x-noquota")
		})
	}
}

// setupTree builds root + size-1 children with an HRQ on the root that
// never fills, a namespace with a plain ResourceQuota that never fills, and
// a namespace without quota. It returns a child of the root and the other
// two.
func setupTree(b *testing.B, size int) (leaf, plain, free string) {
	b.Helper()
	c := env.Client
	prefix := fmt.Sprintf("bench%d", size)
	root := prefix + "-root"
	free = prefix + "-free"
	plain = prefix + "-plain"
	// The manager's namespace holds the ledgers.
	mustCreate(b, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: env.Options.Forest.ManagerNamespace}})
	mustCreate(b, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: root}})
	mustCreate(b, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: free}})
	mustCreate(b, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: plain}})
	mustCreate(b, c, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: plain, Name: "plain"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1000000")}}})
	children := make([]string, 0, size-1)
	for i := 1; i < size; i++ {
		ns := fmt.Sprintf("%s-%d", prefix, i)
		children = append(children, ns)
		mustCreate(b, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		hc := &hncv1.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: hncv1.Singleton}}
		hc.Spec.Parent = root
		mustCreate(b, c, hc)
	}
	mustCreate(b, c, &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: root, Name: "bench"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1000000")}}})
	leaf = children[len(children)-1]
	for _, ns := range []string{leaf, plain, free} {
		waitFor(b, func(ctx context.Context) error {
			return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &corev1.ServiceAccount{})
		})
	}
	waitFor(b, func(ctx context.Context) error {
		n := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: leaf}, n); err != nil {
			return err
		}
		if n.Labels[forest.LabelInTree] != "true" {
			return fmt.Errorf("%s not in tree yet", leaf)
		}
		rq := &corev1.ResourceQuota{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: leaf, Name: quota.UnscopedSingletonName}, rq); err != nil {
			return err
		}
		if _, ok := rq.Status.Used[corev1.ResourcePods]; !ok {
			return fmt.Errorf("singleton status not filled yet")
		}
		return nil
	})
	waitFor(b, func(ctx context.Context) error {
		rq := &corev1.ResourceQuota{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: plain, Name: "plain"}, rq); err != nil {
			return err
		}
		if _, ok := rq.Status.Used[corev1.ResourcePods]; !ok {
			return fmt.Errorf("plain ResourceQuota status not filled yet")
		}
		return nil
	})
	return leaf, plain, free
}

func timeCreate(b *testing.B, ns string, i int) time.Duration {
	no := false
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p%d", i)},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: &no, Containers: []corev1.Container{{Name: "c", Image: "pause"}}}}
	start := time.Now()
	if err := env.Client.Create(context.Background(), p); err != nil {
		b.Fatalf("creating pod in %s: %v", ns, err)
	}
	return time.Since(start)
}

// report reports p50 and p99 of ds in milliseconds and returns them.
func report(b *testing.B, name string, ds []time.Duration) [2]float64 {
	if len(ds) == 0 {
		return [2]float64{1, 1}
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	pct := func(p float64) float64 {
		return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000
	}
	out := [2]float64{pct(0.50), pct(0.99)}
	b.ReportMetric(out[0], "p50-ms-"+name)
	b.ReportMetric(out[1], "p99-ms-"+name)
	return out
}

func mustCreate(b *testing.B, c client.Client, o client.Object) {
	b.Helper()
	if err := c.Create(context.Background(), o); err != nil && !apierrors.IsAlreadyExists(err) {
		b.Fatalf("creating %T %s: %v", o, o.GetName(), err)
	}
}

func waitFor(b *testing.B, check func(ctx context.Context) error) {
	b.Helper()
	framework.Eventually(b, 5*time.Minute, check)
}
