// Package propagation benchmarks object propagation on a real control
// plane: a tree of 1,000 namespaces, four levels deep, and one Role plus
// one RoleBinding created at the root. It reports the time until every
// descendant holds both copies beside the raw write floor: the same number
// of RoleBindings written directly by one client, with the manager's QPS
// and parallelism, in the same run.
//
// Run it with `make bench`; without -bench the package starts nothing.
package propagation

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	ctrlprop "github.com/canopyhq/canopy/internal/controller/propagation"
	"github.com/canopyhq/canopy/internal/setup"
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

// Tree shape: 1 root, 9 children, 90 grandchildren, 900 great-grandchildren.
var fanout = []int{9, 10, 10}

const parallel = 32

func BenchmarkPropagation1000Namespaces(b *testing.B) {
	ctx := context.Background()
	cfg := rest.CopyConfig(env.CP.Config)
	cfg.QPS, cfg.Burst = env.Options.QPS, env.Options.Burst
	c, err := client.New(cfg, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		b.Fatal(err)
	}
	workers := env.Options.Propagation.Workers
	if workers == 0 {
		workers = ctrlprop.DefaultWorkers
	}
	for i := range b.N {
		root := fmt.Sprintf("bench%d", i)
		names := buildTree(ctx, b, c, root)
		descendants := len(names) - 1

		start := time.Now()
		mustCreate(b, c, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: root, Name: "bench-role"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}})
		mustCreate(b, c, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: root, Name: "bench-binding"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "bench-role"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bench"}}})
		framework.Eventually(b, 30*time.Minute, func(ctx context.Context) error {
			sel := client.MatchingLabels{api.LabelInheritedFrom: root}
			roles, bindings := &rbacv1.RoleList{}, &rbacv1.RoleBindingList{}
			if err := c.List(ctx, roles, sel); err != nil {
				return err
			}
			if err := c.List(ctx, bindings, sel); err != nil {
				return err
			}
			if len(roles.Items) != descendants || len(bindings.Items) != descendants {
				return fmt.Errorf("%d roles and %d bindings of %d", len(roles.Items), len(bindings.Items), descendants)
			}
			return nil
		})
		propagated := time.Since(start)

		// The floor: as many objects, written directly, in the same run,
		// into the leaves (which have no descendants, so nothing of this
		// propagates).
		leaves := names[len(names)-leafCount():]
		var items []string
		for k := range 2 * descendants {
			items = append(items, fmt.Sprintf("%s/floor-%d", leaves[k%len(leaves)], k))
		}
		start = time.Now()
		runParallel(b, workers, items, func(item string) error {
			ns, nm, _ := strings.Cut(item, "/")
			return c.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: nm},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "bench-role"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bench"}}})
		})
		floor := time.Since(start)

		b.ReportMetric(propagated.Seconds(), "propagation-s")
		b.ReportMetric(floor.Seconds(), "raw-write-floor-s")
		b.ReportMetric(propagated.Seconds()/floor.Seconds(), "ratio")
		b.Logf("%d namespaces: propagation %v, raw floor (%d RoleBindings, %d writers, QPS %v) %v, ratio %.2f",
			len(names), propagated, 2*descendants, workers, cfg.QPS, floor, propagated.Seconds()/floor.Seconds())
	}
}

// buildTree creates the namespaces and HierarchyConfigurations and waits
// until every leaf carries the root's tree label. It returns the names,
// root first.
func buildTree(ctx context.Context, b *testing.B, c client.Client, root string) []string {
	b.Helper()
	names := []string{root}
	parents := map[string]string{}
	level := []string{root}
	for depth, n := range fanout {
		var next []string
		for _, p := range level {
			for k := range n {
				nm := fmt.Sprintf("%s-%d-%s-%d", root, depth+1, p[len(root):], k)
				next = append(next, nm)
				parents[nm] = p
			}
		}
		names = append(names, next...)
		level = next
	}
	runParallel(b, parallel, names, func(nm string) error {
		return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nm}})
	})
	runParallel(b, parallel, names[1:], func(nm string) error {
		return c.Create(ctx, &api.HierarchyConfiguration{
			ObjectMeta: metav1.ObjectMeta{Namespace: nm, Name: api.Singleton},
			Spec:       api.HierarchyConfigurationSpec{Parent: parents[nm]},
		})
	})
	framework.Eventually(b, 30*time.Minute, func(ctx context.Context) error {
		list := &corev1.NamespaceList{}
		if err := c.List(ctx, list, client.HasLabels{root + api.LabelTreeDepthSuffix}); err != nil {
			return err
		}
		if len(list.Items) != len(names) {
			return fmt.Errorf("%d of %d namespaces labelled", len(list.Items), len(names))
		}
		return nil
	})
	return names
}

// leafCount is the number of namespaces at the deepest level.
func leafCount() int {
	n := 1
	for _, f := range fanout {
		n *= f
	}
	return n
}

func runParallel(b *testing.B, n int, items []string, fn func(string) error) {
	b.Helper()
	work := make(chan string)
	errs := make(chan error, len(items))
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if err := fn(it); err != nil {
					errs <- fmt.Errorf("%s: %w", it, err)
				}
			}
		}()
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func mustCreate(b *testing.B, c client.Client, obj client.Object) {
	b.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		b.Fatal(err)
	}
}
