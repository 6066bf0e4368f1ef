package quota

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// A batch's denial is new once across replicas: a second claim of the same
// signature, by any store on the same API, is not; a new signature is; and
// denials older than a minute are pruned when the ConfigMap is written.
func TestDenialStoreClaims(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().WithScheme(testScheme()).Build()
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	a := &DenialStore{Client: c, Reader: c, Namespace: "canopy-system", Now: clock}
	b := &DenialStore{Client: c, Reader: c, Namespace: "canopy-system", Now: clock}
	key := types.NamespacedName{Namespace: "team", Name: "hrq.hnc.x-k8s.io"}
	claim := func(s *DenialStore, key types.NamespacedName, sig string) bool {
		t.Helper()
		ok, err := s.Claim(ctx, key, sig)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// Claims never create the shards (that could deadlock with the API
	// server's quota admission): before EnsureShards they fail, and the
	// replica judges alone.
	if _, err := a.Claim(ctx, key, "7 pods=1 pods=3"); err == nil {
		t.Fatal("claim before the shards exist succeeded")
	}
	if err := a.EnsureShards(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureShards(ctx); err != nil {
		t.Fatalf("second EnsureShards: %v", err)
	}
	if !claim(a, key, "7 pods=1 pods=3") {
		t.Fatal("first denial of a batch not claimed")
	}
	if claim(b, key, "7 pods=1 pods=3") {
		t.Error("the other replica claimed a batch already denied")
	}
	if !claim(b, key, "9 pods=1 pods=3") {
		t.Error("a new batch (later resourceVersion) not claimed")
	}
	other := types.NamespacedName{Namespace: "team", Name: "hrq.hnc.x-k8s.io-scoped"}
	if !claim(a, other, "9 pods=1 pods=3") {
		t.Error("another singleton's batch with the same signature not claimed")
	}

	now = now.Add(2 * time.Minute)
	late := types.NamespacedName{Namespace: "team", Name: "late"}
	if !claim(a, late, "1 pods=0 pods=2") {
		t.Fatal("claim after two minutes failed")
	}
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "canopy-system", Name: DenialShardName("team")}, cm); err != nil {
		t.Fatal(err)
	}
	if len(cm.Data) != 1 {
		t.Errorf("denials after two minutes: %v, want only the new one", cm.Data)
	}
}
