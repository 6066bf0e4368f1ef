package forestsync

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/canopyhq/canopy/internal/forest"
)

// Roots returns names together with the roots of their trees, sorted and
// without repeats. It takes the forest's lock.
func Roots(f *forest.Forest, names []string) []string {
	f.Lock()
	defer f.Unlock()
	out := slices.Clone(names)
	for _, n := range names {
		if ns := f.Lookup(n); ns != nil {
			if anc := ns.AncestryNames(); len(anc) > 0 && anc[0] != n {
				out = append(out, anc[0])
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// RootsSource enqueues, for every change subscribe reports, the changed
// namespaces and the roots of their trees: what a controller keyed by
// Tenant needs, since a Tenant's name is its tree's root.
func RootsSource(f *forest.Forest, subscribe func(context.Context, func([]string))) source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		subscribe(ctx, func(names []string) {
			for _, root := range Roots(f, names) {
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: root}})
			}
		})
		return nil
	})
}
