package propagation

import (
	"sort"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	policy "github.com/canopyhq/canopy/internal/propagation"
)

var roleGVK = schema.GroupVersionKind{Group: api.RBACGroup, Version: "v1", Kind: "Role"}

// handlerFixture: a <- b <- c, and x <- y in another tree.
func handlerFixture(t *testing.T) (*forest.Forest, *typeSyncer) {
	t.Helper()
	f := forest.NewWithConfig(forest.DefaultConfig("canopy-system"))
	for _, nm := range []string{"a", "b", "c", "x", "y"} {
		f.Get(nm).SetExists(true)
	}
	f.Get("b").SetParent(f.Get("a"))
	f.Get("c").SetParent(f.Get("b"))
	f.Get("y").SetParent(f.Get("x"))
	p := New(Deps{Forest: f, Log: logr.Discard()}, Options{})
	s := newTypeSyncer(p, schema.GroupResource{Group: api.RBACGroup, Resource: "roles"}, roleGVK, api.Propagate)
	t.Cleanup(s.queue.ShutDown)
	return f, s
}

func drain(s *typeSyncer) []string {
	var out []string
	for s.queue.Len() > 0 {
		k, _ := s.queue.Get()
		out = append(out, k.String())
		s.queue.Done(k)
	}
	sort.Strings(out)
	return out
}

func TestHandlersEnqueueOnlyAffected(t *testing.T) {
	f, s := handlerFixture(t)
	src := role("b", "r", nil, nil, "get")

	s.onUpsert(src)
	if diff := cmp.Diff([]string{"b/r", "c/r"}, drain(s)); diff != "" {
		t.Errorf("new source in b (-want +got):\n%s", diff)
	}
	f.Lock()
	stored := f.Lookup("b").HasSourceObject(roleGVK, "r")
	f.Unlock()
	if !stored {
		t.Fatal("the source was not recorded in the forest")
	}

	// An update that changes nothing the forest stores (resourceVersion)
	// re-checks the namespace itself only.
	again := src.DeepCopy()
	again.SetResourceVersion("99")
	s.onUpsert(again)
	if diff := cmp.Diff([]string{"b/r"}, drain(s)); diff != "" {
		t.Errorf("no-op update (-want +got):\n%s", diff)
	}

	// A copy event re-checks that namespace only.
	s.onUpsert(policy.MakeCopy(src, "c", policy.DefaultConfig()))
	if diff := cmp.Diff([]string{"c/r"}, drain(s)); diff != "" {
		t.Errorf("copy event (-want +got):\n%s", diff)
	}

	// Deleting the source (even as a tombstone) forgets it and re-checks
	// the subtree.
	s.onDelete(toolscache.DeletedFinalStateUnknown{Key: "b/r", Obj: src})
	if diff := cmp.Diff([]string{"b/r", "c/r"}, drain(s)); diff != "" {
		t.Errorf("deleted source (-want +got):\n%s", diff)
	}
	f.Lock()
	stored = f.Lookup("b").HasSourceObject(roleGVK, "r")
	f.Unlock()
	if stored {
		t.Error("the deleted source is still in the forest")
	}

	// Excluded namespaces are ignored.
	s.onUpsert(role("canopy-system", "r", nil, nil, "get"))
	if got := drain(s); len(got) != 0 {
		t.Errorf("excluded namespace enqueued %v", got)
	}
}

func TestNamespaceResyncIsPerNamespace(t *testing.T) {
	_, s := handlerFixture(t)
	s.p.types[s.gr] = s
	s.p.ResyncNamespaces("y")
	want := []string{types.NamespacedName{Namespace: "y"}.String()}
	if diff := cmp.Diff(want, drain(s)); diff != "" {
		t.Errorf("resync (-want +got):\n%s", diff)
	}
}
