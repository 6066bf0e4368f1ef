package ha

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// tree is a two-level hierarchy: root, nine children and the other
// namespaces spread over the children as grandchildren.
type tree struct {
	root     string
	children []string
	parent   map[string]string // every descendant's parent
}

// newTree names a tree of n namespaces (root included) under root.
func newTree(root string, n int) *tree {
	tr := &tree{root: root, parent: map[string]string{}}
	const nChildren = 9
	for i := range nChildren {
		c := fmt.Sprintf("%s-c%d", root, i)
		tr.children = append(tr.children, c)
		tr.parent[c] = root
	}
	for j := 0; len(tr.parent) < n-1; j++ {
		c := tr.children[j%nChildren]
		tr.parent[fmt.Sprintf("%s-%d", c, j/nChildren)] = c
	}
	return tr
}

// descendants returns the namespaces under ns, ns excluded.
func (tr *tree) descendants(ns string) []string {
	var out []string
	for d, p := range tr.parent {
		for ; p != ""; p = tr.parent[p] {
			if p == ns {
				out = append(out, d)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// parallel runs f on every item with a few workers and returns the first
// error.
func parallel(items []string, f func(string) error) error {
	const workers = 8
	ch := make(chan string)
	errs := make(chan error, len(items))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := f(it); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
	close(errs)
	return <-errs
}

// retry calls f until it succeeds or a minute has passed: the webhooks
// deny a parent the forest has not seen yet.
func retry(ctx context.Context, f func(context.Context) error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := f(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// setParent sets ns's parent through its HierarchyConfiguration, as a
// user would with `kubectl hns set`.
func setParent(ctx context.Context, c client.Client, ns, parent string) error {
	return retry(ctx, func(ctx context.Context) error {
		return framework.SetParent(ctx, c, ns, parent)
	})
}

// build creates the tree's namespaces, then sets every parent, level by
// level, and waits until the leader has put every descendant in the tree
// (its depth label for the root).
func (tr *tree) build(t *testing.T, c client.Client, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	all := append([]string{tr.root}, tr.descendants(tr.root)...)
	if err := parallel(all, func(ns string) error {
		return client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}); err != nil {
		t.Fatalf("creating namespaces: %v", err)
	}
	for _, level := range [][]string{tr.children, tr.grandchildren()} {
		if err := parallel(level, func(ns string) error { return setParent(ctx, c, ns, tr.parent[ns]) }); err != nil {
			t.Fatalf("setting parents: %v", err)
		}
	}
	want := len(tr.parent)
	eventually(t, timeout, "every descendant in the tree", func(ctx context.Context) error {
		nss := &corev1.NamespaceList{}
		if err := c.List(ctx, nss, client.HasLabels{tr.root + api.LabelTreeDepthSuffix}); err != nil {
			return err
		}
		if got := len(nss.Items) - 1; got != want { // the root has depth 0
			return fmt.Errorf("%d of %d descendants labelled", got, want)
		}
		return nil
	})
}

func (tr *tree) grandchildren() []string {
	var out []string
	for d, p := range tr.parent {
		if p != tr.root {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}
