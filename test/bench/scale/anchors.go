package scale

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// trackAnchorsOk follows the tree's anchors through a watch and closes
// the returned channel once every descendant's anchor reports Ok: the
// manager has seen the subnamespace it created, as users of
// `kubectl hns tree` see it. A tree built through anchors has converged
// only then, not merely once its namespaces are labelled.
func trackAnchorsOk(ctx context.Context, cl *cluster, t tree) (<-chan struct{}, error) {
	want := map[string]bool{}
	for _, nm := range t.descendants() {
		want[nm] = true
	}
	var mu sync.Mutex
	ok := map[string]bool{}
	done := make(chan struct{})
	err := watchEvents(ctx, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return cl.c.Watch(ctx, &api.SubnamespaceAnchorList{}, &client.ListOptions{Raw: &o})
	}, func(ctx context.Context) (string, error) {
		l := &api.SubnamespaceAnchorList{}
		if err := cl.c.List(ctx, l, client.Limit(1)); err != nil {
			return "", err
		}
		return l.ResourceVersion, nil
	}, func(ev watch.Event) {
		a, isAnchor := ev.Object.(*api.SubnamespaceAnchor)
		if !isAnchor || !want[a.Name] || t.parent[a.Name] != a.Namespace {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		ok[a.Name] = ev.Type != watch.Deleted && a.Status.State == api.Ok
		n := 0
		for _, v := range ok {
			if v {
				n++
			}
		}
		if n == len(want) {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	})
	return done, err
}
