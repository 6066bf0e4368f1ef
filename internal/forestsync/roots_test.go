package forestsync

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/internal/forest"
)

func TestRoots(t *testing.T) {
	f := forest.New()
	f.Lock()
	for _, n := range []string{"acme", "acme-api", "acme-api-eu", "solo"} {
		f.Get(n).SetExists(true)
	}
	f.Get("acme-api").SetParent(f.Get("acme"))
	f.Get("acme-api-eu").SetParent(f.Get("acme-api"))
	f.Unlock()

	got := Roots(f, []string{"acme-api-eu", "solo", "unknown", "acme-api"})
	want := []string{"acme", "acme-api", "acme-api-eu", "solo", "unknown"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Roots (-want +got):\n%s", diff)
	}
}
