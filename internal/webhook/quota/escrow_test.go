package quota

import (
	"context"
	"testing"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// TestRevocationAndDryRun: under pods=40, a holds 1 pod and a grant up to 5
// and b holds 35. b's 36th fits the 40 only once a's grant is revoked. A
// dry run of it is allowed and revokes nothing (a dry run has no side
// effects); the real admission is allowed and revokes the grant, fencing
// it with a new epoch on a's singleton.
func TestRevocationAndDryRun(t *testing.T) {
	ctx := context.Background()
	c, h, get := clampTree(t, "pods=40", map[string]string{"root": "pods=0", "a": "pods=1", "b": "pods=35"})
	a := get("a")
	a.Annotations = map[string]string{ctrlquota.AnnotationEpoch: "ea"}
	if err := c.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	l := &quota.Ledger{Root: "root", Entries: map[quota.Key]quota.Entry{},
		Grants: map[quota.Key]quota.Grant{{Namespace: "a"}: {Up: rl(t, "pods=5"), Epoch: "ea", Cover: "c"}}}
	if err := h.Ledgers.Put(ctx, ctrlquota.StoredLedger{}, l); err != nil {
		t.Fatal(err)
	}
	epochOfA := func() string { return get("a").Annotations[ctrlquota.AnnotationEpoch] }
	grantOfA := func() bool {
		stored, err := h.Ledgers.Get(ctx, "root")
		if err != nil {
			t.Fatal(err)
		}
		_, ok := stored.Ledger.Grants[quota.Key{Namespace: "a"}]
		return ok
	}

	dry := statusRequest(t, "b", 35, 36)
	yes := true
	dry.DryRun = &yes
	if resp := h.Handle(ctx, dry); !resp.Allowed {
		t.Fatalf("dry run of b's 36th: %+v, want allowed", resp.Result)
	}
	if epochOfA() != "ea" || !grantOfA() {
		t.Fatal("a dry run revoked a's grant")
	}
	if resp := h.Handle(ctx, statusRequest(t, "b", 35, 36)); !resp.Allowed {
		t.Fatalf("b's 36th: %+v, want allowed once a's grant is revoked", resp.Result)
	}
	if epochOfA() == "ea" {
		t.Error("a's singleton kept the grant's epoch")
	}
	if grantOfA() {
		t.Error("a's grant is still in the ledger")
	}
	if resp := h.Handle(ctx, statusRequest(t, "b", 36, 40)); resp.Allowed {
		t.Error("b's 40th beside a's 1 under pods=40 was allowed")
	}
}
