package tenant

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/internal/forest"
)

// A subnamespace whose anchor is missing (its subnamespace-of annotation
// may be forged) is no part of the tenant's tree, nor is anything below it.
func TestGovernedLeavesOutUnanchoredSubnamespaces(t *testing.T) {
	f := forest.New()
	f.Lock()
	defer f.Unlock()
	for _, nm := range []string{"pay", "pay-api", "forged", "forged-child", "full"} {
		f.Get(nm).SetExists(true)
	}
	for child, parent := range map[string]string{"pay-api": "pay", "forged": "pay", "forged-child": "forged", "full": "pay"} {
		f.Get(child).SetParent(f.Get(parent))
	}
	f.Get("pay-api").SetIsSub(true)
	f.Get("forged").SetIsSub(true)
	f.Get("forged-child").SetIsSub(true)
	f.Get("pay").SetAnchors([]string{"pay-api"})
	f.Get("forged").SetAnchors([]string{"forged-child"})

	all := []string{"pay", "forged", "forged-child", "full", "pay-api"}
	if diff := cmp.Diff(all, Names(ReadTree(f, "pay"))); diff != "" {
		t.Errorf("ReadTree (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"pay", "full", "pay-api"}, Names(Governed(ReadTree(f, "pay")))); diff != "" {
		t.Errorf("Governed (-want +got):\n%s", diff)
	}
	// Once the parent holds the anchor, the subtree is the tenant's.
	f.Get("pay").SetAnchors([]string{"pay-api", "forged"})
	if diff := cmp.Diff(all, Names(Governed(ReadTree(f, "pay")))); diff != "" {
		t.Errorf("Governed after the anchor (-want +got):\n%s", diff)
	}
}
