package quota

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// The grant check keeps a namespace's cover while the tree's structure and
// the quotas are unchanged, and builds it again after either changes: an
// HRQ whose hard is raised (an informer event) or a namespace added to the
// forest ends the grant decided under the old cover.
func TestCoversFollowQuotasAndTree(t *testing.T) {
	ctx := context.Background()
	c, h, _ := clampTree(t, "pods=40", map[string]string{"root": "pods=0", "a": "pods=1"})
	h.Ledgers.Cache = h.Ledgers.Reader
	h.Trees, h.Covers = &ctrlquota.TreeCache{}, &Covers{}
	l := &quota.Ledger{Root: "root", Entries: map[quota.Key]quota.Entry{},
		Grants: map[quota.Key]quota.Grant{{Namespace: "a"}: {Up: rl(t, "pods=5"), Epoch: "ea", Cover: mustCover(t, h, "a")}}}
	if err := h.Ledgers.Put(ctx, ctrlquota.StoredLedger{}, l); err != nil {
		t.Fatal(err)
	}
	within := func() bool { return h.withinGrantOf(ctx, "a", nil, "ea", rl(t, "pods=1"), rl(t, "pods=2")) }
	if !within() {
		t.Fatal("an admission within the grant was not")
	}
	if len(h.Covers.m) != 1 {
		t.Fatalf("covers kept: %d, want the namespace's one", len(h.Covers.m))
	}

	hrq := &hncv1.HierarchicalResourceQuota{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "root", Name: "q"}, hrq); err != nil {
		t.Fatal(err)
	}
	hrq.Spec.Hard = rl(t, "pods=50")
	if err := c.Update(ctx, hrq); err != nil {
		t.Fatal(err)
	}
	// The informer has not delivered the change: the check decides as on
	// the cache it was built from.
	if !within() {
		t.Fatal("the kept cover was not used before the quotas' informer reported a change")
	}
	h.Covers.Handler().OnUpdate(hrq, hrq)
	if within() {
		t.Fatal("after the HRQ's hard changed, the grant decided under the old cover still admitted")
	}

	// Back to the grant's cover, then a change of the forest's structure.
	l.Grants[quota.Key{Namespace: "a"}] = quota.Grant{Up: rl(t, "pods=5"), Epoch: "ea", Cover: mustCover(t, h, "a")}
	stored, err := h.Ledgers.Get(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Ledgers.Put(ctx, stored, l); err != nil {
		t.Fatal(err)
	}
	if !within() {
		t.Fatal("an admission within the renewed grant was not")
	}
	h.Forest.Lock()
	h.Forest.Get("b").SetParent(h.Forest.Get("a"))
	h.Forest.Unlock()
	before := h.Covers.m[quota.Key{Namespace: "a"}]
	if !within() {
		t.Fatal("a child added under the namespace ended its grant")
	}
	if after := h.Covers.m[quota.Key{Namespace: "a"}]; after.structure == before.structure {
		t.Error("the cover was not built again after the forest's structure changed")
	}
}

func mustCover(t *testing.T, h *StatusHandler, ns string) string {
	t.Helper()
	v := h.Trees.TreeOf(h.Forest, ns)
	quotas, err := h.pathQuotas(context.Background(), v, ns)
	if err != nil {
		t.Fatal(err)
	}
	return quota.Cover(v.Tree, quotas, ns, "")
}
