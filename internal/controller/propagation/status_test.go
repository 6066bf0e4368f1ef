package propagation

import (
	"context"
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// Until a type's informer has delivered its initial list (and the forest
// has loaded), the forest holds only some of its sources: a status
// counted then is wrong, and writing it makes every restart write
// HNCConfiguration twice (the partial count, then the full one).
func TestStatusWaitsForTheInitialList(t *testing.T) {
	_, s := handlerFixture(t)
	if _, err := s.status(context.Background()); !errors.Is(err, ErrNotSynced) {
		t.Fatalf("status before the initial list: %v, want ErrNotSynced", err)
	}
}

// The copies HNCConfiguration reports are counted from the informer's
// changes, not by listing every copy each time a queue empties.
func TestCopiesAreCountedFromTheInformersChanges(t *testing.T) {
	s := &typeSyncer{}
	obj := func(name string, copied bool) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetNamespace("team")
		u.SetName(name)
		if copied {
			u.SetLabels(map[string]string{api.LabelInheritedFrom: "root"})
		}
		return u
	}
	steps := []struct {
		what     string
		old, obj any
		want     int64
	}{
		{"a copy appears", nil, obj("a", true), 1},
		{"a source appears", nil, obj("b", false), 1},
		{"the source becomes a copy", obj("b", false), obj("b", true), 2},
		{"a copy is edited", obj("a", true), obj("a", true), 2},
		{"a copy loses its label", obj("a", true), obj("a", false), 1},
		{"a copy goes", obj("b", true), nil, 0},
		{"a copy appears again", nil, obj("c", true), 1},
		{"a copy's deletion is learnt from a tombstone", toolscache.DeletedFinalStateUnknown{Key: "team/c", Obj: obj("c", true)}, nil, 0},
	}
	for _, st := range steps {
		s.countCopy(st.old, st.obj)
		if got := s.copies.Load(); got != st.want {
			t.Fatalf("after %s: %d copies, want %d", st.what, got, st.want)
		}
	}
}
