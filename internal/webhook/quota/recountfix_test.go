package quota

import (
	"context"
	"encoding/json"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	gomodjsonpatch "gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/canopyhq/canopy/internal/quota"
)

// patchedUsed applies a mutator's response to the request's object and
// returns its status.used.
func patchedUsed(t *testing.T, req admission.Request, resp admission.Response) string {
	t.Helper()
	if !resp.Allowed {
		t.Fatalf("mutator denied: %v", resp.Result)
	}
	obj, err := applyPatches(req.Object.Raw, resp.Patches)
	if err != nil {
		t.Fatal(err)
	}
	rq := &corev1.ResourceQuota{}
	if err := json.Unmarshal(obj, rq); err != nil {
		t.Fatal(err)
	}
	return quota.String(rq.Status.Used)
}

// applyPatches applies a webhook's JSON patch operations to obj.
func applyPatches(obj []byte, ops []gomodjsonpatch.JsonPatchOperation) ([]byte, error) {
	if len(ops) == 0 {
		return obj, nil
	}
	raw, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	p, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		return nil, err
	}
	return p.Apply(obj)
}

// A stale recount is corrected in its own write: the mutator raises the
// lowered name to what exists, and the status validator then allows the
// write, so no second write of the singleton follows (one would conflict
// with the API server's quota admission retrying in the namespace). A
// recount that is right is left as it is, and quota admission's own writes
// are not touched.
func TestStaleRecountIsCorrectedInItsOwnWrite(t *testing.T) {
	ctx := context.Background()
	c, rq, h := staleRecountFixture(t) // pods=4 charged, 3 pods exist
	fixer := &RecountFixer{Status: h, Decoder: h.Decoder}
	rv := quota.ParseRV(rq.ResourceVersion)
	recount := func(prev, next int) admission.Request {
		r := statusRequestAt(t, "root", rv, prev, next)
		r.UserInfo.Username = "system:kube-controller-manager"
		return r
	}

	stale := recount(4, 2)
	resp := fixer.Handle(ctx, stale)
	if got := patchedUsed(t, stale, resp); got != "pods=3" {
		t.Fatalf("stale recount pods=2 with 3 pods existing mutated to %s, want pods=3", got)
	}
	fixedRaw, err := applyPatches(stale.Object.Raw, resp.Patches)
	if err != nil {
		t.Fatal(err)
	}
	fixed := stale
	fixed.Object.Raw = fixedRaw
	if resp := h.Handle(ctx, fixed); !resp.Allowed {
		t.Fatalf("corrected recount refused by the status validator: %v", resp.Result)
	}
	if got := usedOf(t, c, rq); got != "pods=4" {
		t.Errorf("singleton written by Canopy (used %s), want only the recount's own write", got)
	}

	right := recount(4, 3)
	if got := patchedUsed(t, right, fixer.Handle(ctx, right)); got != "pods=3" {
		t.Errorf("right recount pods=3 mutated to %s, want it unchanged", got)
	}
	if resp := fixer.Handle(ctx, right); len(resp.Patches) != 0 {
		t.Errorf("right recount patched: %v", resp.Patches)
	}
	admit := statusRequestAt(t, "root", rv, 4, 2) // as if the API server wrote it
	if resp := fixer.Handle(ctx, admit); !resp.Allowed || len(resp.Patches) != 0 {
		t.Errorf("quota admission's write mutated or denied: allowed=%v patches=%v", resp.Allowed, resp.Patches)
	}
}
