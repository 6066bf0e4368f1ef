package tenant

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/forest"
)

// SlotTTL is how long a reservation of a subnamespace slot counts after
// its anchor was admitted. It only has to outlast the time the anchor takes
// to reach every replica's forest, where it is then counted; an anchor
// denied after the reservation (by another webhook) holds its slot that
// long at most.
const SlotTTL = time.Minute

// slotAttempts bounds the compare-and-swap retries of one admission; each
// lost round means another anchor of the same tenant was admitted.
const slotAttempts = 30

// SlotsName is the name of a tenant's slot ledger in the manager's
// namespace.
func SlotsName(tenant string) string { return "canopy-tenant-" + tenant + "-slots" }

// Slots are a tenant's reservations: subnamespace name to the time its
// anchor was admitted.
type Slots map[string]time.Time

// SlotPlan is what the ledger says about one new anchor.
type SlotPlan struct {
	// Others counts the namespaces the tree holds or is about to hold
	// besides the new one: existing namespaces, anchors whose namespaces
	// are not created yet, and live reservations, each name once.
	Others int
	// Counted is whether the name is already among them (an anchor
	// re-created for an existing subnamespace, or a retried request).
	Counted bool
	// Next is the ledger to write if the anchor is admitted: live
	// reservations plus this one.
	Next Slots
}

// PlanSlot computes the plan for an anchor named name in a tree whose
// forest members (namespaces and anchors, root included) are members,
// given the stored reservations and the time now. It is pure.
func PlanSlot(members []string, stored Slots, name string, now time.Time) SlotPlan {
	counted := map[string]bool{}
	for _, m := range members {
		counted[m] = true
	}
	next := Slots{}
	for n, at := range stored {
		if now.Sub(at) < SlotTTL {
			next[n] = at
			counted[n] = true
		}
	}
	p := SlotPlan{Counted: counted[name], Next: next}
	p.Others = len(counted)
	if p.Counted {
		p.Others--
	} else {
		next[name] = now
	}
	return p
}

// treeMembers lists the tree rooted at root as the forest sees it: every
// existing namespace and every anchor in one of them, whose namespace may
// not exist yet. The caller holds the forest's lock.
func treeMembers(f *forest.Forest, root string) []string {
	r := f.Lookup(root)
	if !r.Exists() {
		return nil
	}
	out := []string{root}
	out = append(out, r.AnchorNames()...)
	for _, d := range r.DescendantNames() {
		ns := f.Lookup(d)
		if !ns.Exists() {
			continue
		}
		out = append(out, d)
		out = append(out, ns.AnchorNames()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SlotStore reads and writes the slot ledgers. Every write is a compare-and-swap
// on the resourceVersion read (or a create that fails if another replica
// created the ledger first).
type SlotStore struct {
	reader    client.Reader // the API server, never a cache
	writer    client.Client
	namespace string
}

type storedSlots struct {
	slots Slots
	cm    *corev1.ConfigMap // nil when no ledger exists
}

func (s SlotStore) get(ctx context.Context, tenant string) (storedSlots, error) {
	cm := &corev1.ConfigMap{}
	err := s.reader.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: SlotsName(tenant)}, cm)
	if apierrors.IsNotFound(err) {
		return storedSlots{slots: Slots{}}, nil
	}
	if err != nil {
		return storedSlots{}, fmt.Errorf("reading the subnamespace slots of tenant %q: %w", tenant, err)
	}
	slots := Slots{}
	for n, v := range cm.Data {
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			continue // a hand-edited entry: treat as expired
		}
		slots[n] = at
	}
	return storedSlots{slots: slots, cm: cm}, nil
}

// put writes next in place of prev. The ledger is owned by the Tenant, so
// the garbage collector removes it with the Tenant.
func (s SlotStore) put(ctx context.Context, t *tenancyv1.Tenant, prev storedSlots, next Slots) error {
	data := make(map[string]string, len(next))
	for _, n := range slices.Sorted(maps.Keys(next)) {
		data[n] = next[n].UTC().Format(time.RFC3339Nano)
	}
	if prev.cm == nil {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: s.namespace, Name: SlotsName(t.Name),
				Labels: map[string]string{tenancyv1.LabelTenant: t.Name},
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: tenancyv1.GroupVersion.String(), Kind: "Tenant", Name: t.Name, UID: t.UID,
				}},
			},
			Data: data,
		}
		return s.writer.Create(ctx, cm)
	}
	cm := prev.cm.DeepCopy()
	cm.Data = data
	return s.writer.Update(ctx, cm) // carries the resourceVersion read
}

func isLostRace(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }

// reserveSlot admits or denies an anchor named name in t's tree against
// spec.subnamespaces.max, reserving its slot in the tenant's ledger. It
// returns the reason for a denial, or "".
//
// This is one of the two places a Canopy webhook writes to the API (the
// other is the quota ledger): the forest each replica decides on learns of
// an admitted anchor only after the API server has stored it, so two
// anchors admitted at once would both see room for one. Every admission
// instead goes through one object per tenant, read from the API server and
// written with a precondition on its resourceVersion, so concurrent
// admissions, on one replica or several, are serialised and each counts
// the others' reservations.
func (d Deps) reserveSlot(ctx context.Context, t *tenancyv1.Tenant, name string, dryRun bool) (string, error) {
	for range slotAttempts {
		d.Forest.Lock()
		members := treeMembers(d.Forest, t.Name)
		d.Forest.Unlock()
		stored, err := d.Slots.get(ctx, t.Name)
		if err != nil {
			return "", err
		}
		p := PlanSlot(members, stored.slots, name, d.now())
		if why := DecideAnchor(t, p.Others); why != "" || dryRun || p.Counted {
			return why, nil
		}
		err = d.Slots.put(ctx, t, stored, p.Next)
		if err == nil {
			return "", nil
		}
		if !isLostRace(err) {
			return "", fmt.Errorf("reserving a subnamespace slot in tenant %q: %w", t.Name, err)
		}
	}
	return "", fmt.Errorf("reserving a subnamespace slot in tenant %q: gave up after %d conflicting attempts", t.Name, slotAttempts)
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}
