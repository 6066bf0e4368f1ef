// Package quotabench measures pod-creation latency with hierarchical quota
// in the admission path (the API server's quota admission plus Canopy's
// status webhook and ledger write) against a namespace without any quota,
// in the same run, for subtrees of 10, 100 and 1,000 namespaces.
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

func BenchmarkPodAdmission(b *testing.B) {
	for _, size := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("subtree=%d", size), func(b *testing.B) {
			leaf, free := setupTree(b, size)
			var withQuota, without []time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				withQuota = append(withQuota, timeCreate(b, leaf, i))
				without = append(without, timeCreate(b, free, i))
			}
			b.StopTimer()
			report(b, "quota", withQuota)
			report(b, "noquota", without)
		})
	}
}

// setupTree builds root + size-1 children with an HRQ on the root that
// never fills, and a plain namespace beside it. It returns a child of the
// root and the plain namespace.
func setupTree(b *testing.B, size int) (leaf, free string) {
	b.Helper()
	c := env.Client
	prefix := fmt.Sprintf("bench%d", size)
	root := prefix + "-root"
	free = prefix + "-free"
	// The manager's namespace holds the ledgers.
	mustCreate(b, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: env.Options.Forest.ManagerNamespace}})
	mustCreate(b, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: root}})
	mustCreate(b, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: free}})
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
	for _, ns := range []string{leaf, free} {
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
	return leaf, free
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

func report(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	pct := func(p float64) float64 {
		return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms-"+name)
	b.ReportMetric(pct(0.99), "p99-ms-"+name)
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
