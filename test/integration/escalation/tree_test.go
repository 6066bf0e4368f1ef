package escalation

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// updateAs reads ns/name fresh, applies mutate and writes it back as c,
// retrying only write conflicts with the manager's own writes (HNC's
// kinds keep their status in the object).
func updateAs[T client.Object](ctx context.Context, c client.Client, obj T, ns, name string, mutate func(T)) error {
	for range 20 {
		if err := get(ctx, obj, ns, name); err != nil {
			return fmt.Errorf("reading %s/%s to change it: %w", ns, name, err)
		}
		mutate(obj)
		err := c.Update(ctx, obj)
		if !apierrors.IsConflict(err) {
			return err
		}
	}
	return fmt.Errorf("updating %s/%s: kept conflicting", ns, name)
}

func hcUpdate(c client.Client, ns string, mutate func(*hncv1.HierarchyConfiguration)) func(context.Context) error {
	return func(ctx context.Context) error {
		return updateAs(ctx, c, &hncv1.HierarchyConfiguration{}, ns, hncv1.Singleton, mutate)
	}
}

func nsUpdate(c client.Client, ns string, mutate func(*corev1.Namespace)) func(context.Context) error {
	return func(ctx context.Context) error {
		return updateAs(ctx, c, &corev1.Namespace{}, "", ns, mutate)
	}
}

func setLabel(k, v string) func(*corev1.Namespace) {
	return func(n *corev1.Namespace) {
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[k] = v
	}
}

func dropLabel(k string) func(*corev1.Namespace) {
	return func(n *corev1.Namespace) { delete(n.Labels, k) }
}

// parentIs checks the forest still has ns under parent: its tree label
// for parent is present.
func parentIs(ns, parent string) func(context.Context) error {
	return func(ctx context.Context) error {
		hc := &hncv1.HierarchyConfiguration{}
		if err := get(ctx, hc, ns, hncv1.Singleton); err != nil {
			return fmt.Errorf("%s's HierarchyConfiguration after the denial: %w", ns, err)
		}
		if hc.Spec.Parent != parent {
			return fmt.Errorf("%s's parent is %q after the denial, want %q", ns, hc.Spec.Parent, parent)
		}
		return nil
	}
}

// tenantLabelIs checks namespace ns still carries tenant's label.
func tenantLabelIs(ns, tenant string) func(context.Context) error {
	return func(ctx context.Context) error {
		n := &corev1.Namespace{}
		if err := get(ctx, n, "", ns); err != nil {
			return err
		}
		if got := n.Labels[tenancyv1.LabelTenant]; got != tenant {
			return fmt.Errorf("namespace %s has tenant label %q after the denial, want %q", ns, got, tenant)
		}
		return nil
	}
}

// TestLeadCannotMoveNamespaces tries every write that would move a
// namespace out of tenant esa's tree, or into tenant esb's.
func TestLeadCannotMoveNamespaces(t *testing.T) {
	f := fixture(t)
	alice, lena := f.alice, f.lena
	notRoot := q(`namespace "esa" is the root of tenant "esa" and must stay a root`)
	leaves := func(ns, to string) string {
		return q(fmt.Sprintf(`namespace %q belongs to tenant "esa" and cannot be moved under %q, outside the tenant's tree`, ns, to))
	}
	// The hierarchy engine's own check, which may answer first when the
	// lead holds nothing in the destination.
	noPermission := func(ns, to string) string {
		return q(fmt.Sprintf(`user "alice" may not move namespace %q`, ns)) + `.*` + q(fmt.Sprintf(`to %q`, to))
	}
	// And the engine's refusal to let a move overwrite the subtree's
	// objects (both trees hold canopy-tenant-owners).
	overwrites := func(ns, to string) string {
		return q(fmt.Sprintf(`moving namespace %q under %q would overwrite objects in its subtree`, ns, to))
	}
	anchor := func(ns, name string) *hncv1.SubnamespaceAnchor {
		return &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	run(t, []row{
		{name: "root under another tenant's namespace",
			try:  hcUpdate(alice, tenantA, func(hc *hncv1.HierarchyConfiguration) { hc.Spec.Parent = nsBWeb }),
			want: either(notRoot, noPermission(tenantA, nsBWeb), overwrites(tenantA, nsBWeb)), after: parentIs(tenantA, "")},
		{name: "root under a namespace outside every tenant",
			try:  hcUpdate(alice, tenantA, func(hc *hncv1.HierarchyConfiguration) { hc.Spec.Parent = nsOutside }),
			want: notRoot, after: parentIs(tenantA, "")},
		{name: "full namespace under another tenant's namespace",
			try:  hcUpdate(alice, nsFull, func(hc *hncv1.HierarchyConfiguration) { hc.Spec.Parent = nsBWeb }),
			want: either(leaves(nsFull, nsBWeb), noPermission(nsFull, nsBWeb), overwrites(nsFull, nsBWeb)), after: parentIs(nsFull, tenantA)},
		{name: "full namespace under a namespace outside every tenant",
			try:  hcUpdate(alice, nsFull, func(hc *hncv1.HierarchyConfiguration) { hc.Spec.Parent = nsOutside }),
			want: leaves(nsFull, nsOutside), after: parentIs(nsFull, tenantA)},
		{name: "full namespace made a root",
			try:  hcUpdate(alice, nsFull, func(hc *hncv1.HierarchyConfiguration) { hc.Spec.Parent = "" }),
			want: leaves(nsFull, ""), after: parentIs(nsFull, tenantA)},
		{name: "subnamespace given another parent",
			try:   hcUpdate(alice, nsStaging, func(hc *hncv1.HierarchyConfiguration) { hc.Spec.Parent = nsOutside }),
			want:  either(q(`namespace "esa-api-stg" is a subnamespace of "esa-api"; its parent cannot be changed`), leaves(nsStaging, nsOutside)),
			after: parentIs(nsStaging, nsAPI)},
		{name: "anchor in another tenant's namespace",
			try:  func(ctx context.Context) error { return alice.Create(ctx, anchor(nsBWeb, "esa-intruder")) },
			want: rbacDenied("alice", "create", "subnamespaceanchors") + `.* in the namespace "esb-web"`},
		{name: "anchor claiming another tenant's namespace",
			try:   func(ctx context.Context) error { return alice.Create(ctx, anchor(tenantA, nsBWeb)) },
			want:  q(`cannot create subnamespace "esb-web" in "esa": a namespace of that name already exists and is not a subnamespace of "esa"`),
			after: tenantLabelIs(nsBWeb, tenantB)},
		{name: "anchor claiming the manager's namespace",
			try:  func(ctx context.Context) error { return alice.Create(ctx, anchor(tenantA, "canopy-system")) },
			want: q(`cannot create subnamespace "canopy-system"`)},
		{name: "another tenant's namespace pulled under the root",
			try:   hcUpdate(alice, nsBWeb, func(hc *hncv1.HierarchyConfiguration) { hc.Spec.Parent = tenantA }),
			want:  rbacDenied("alice", "update", "hierarchyconfigurations") + `.* in the namespace "esb-web"`,
			after: parentIs(nsBWeb, tenantB)},
		{name: "HNCConfiguration changed to stop propagating",
			try: func(ctx context.Context) error {
				return updateAs(ctx, alice, &hncv1.HNCConfiguration{}, "", hncv1.HNCConfigSingleton, func(c *hncv1.HNCConfiguration) {
					c.Spec.Resources = append(c.Spec.Resources, hncv1.ResourceSpec{Group: "", Resource: "secrets", Mode: hncv1.Propagate})
				})
			},
			want: rbacDenied("alice", "update", "hncconfigurations")},
		{name: "namespace deleted outright",
			try: func(ctx context.Context) error {
				return alice.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsAPI}})
			},
			want: rbacDenied("alice", "delete", "namespaces")},
		{name: "namespace label edited",
			try:  nsUpdate(alice, nsAPI, setLabel(tenancyv1.LabelTenant, tenantB)),
			want: rbacDenied("alice", "update", "namespaces")},
		{name: "namespace created with another tenant's label",
			try: func(ctx context.Context) error {
				return alice.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "esa-sneak", Labels: map[string]string{tenancyv1.LabelTenant: tenantB}}})
			},
			want: rbacDenied("alice", "create", "namespaces")},

		// A lead who may also label namespaces still cannot touch what
		// describes the hierarchy.
		{name: "labeller edits the subnamespace-of annotation",
			try:  nsUpdate(lena, nsStaging, func(n *corev1.Namespace) { n.Annotations[hncv1.SubnamespaceOf] = nsBWeb }),
			want: q(`the annotation hnc.x-k8s.io/subnamespace-of on namespace "esa-api-stg" is managed by Canopy`)},
		{name: "labeller removes the subnamespace-of annotation",
			try:  nsUpdate(lena, nsStaging, func(n *corev1.Namespace) { delete(n.Annotations, hncv1.SubnamespaceOf) }),
			want: q(`the annotation hnc.x-k8s.io/subnamespace-of on namespace "esa-api-stg" is managed by Canopy`)},
		{name: "labeller adds another tree's depth label",
			try:  nsUpdate(lena, nsAPI, setLabel(tenantB+hncv1.LabelTreeDepthSuffix, "1")),
			want: q(`only Canopy's manager may set or remove the labels esb.tree.hnc.x-k8s.io/depth on namespace "esa-api"`)},
		{name: "labeller removes the root's depth label",
			try:  nsUpdate(lena, nsAPI, dropLabel(tenantA+hncv1.LabelTreeDepthSuffix)),
			want: q(`only Canopy's manager may set or remove the labels esa.tree.hnc.x-k8s.io/depth on namespace "esa-api"`)},
		// Item 7: only the manager may set, change or remove the tenant label.
		{name: "labeller relabels a namespace to another tenant",
			try:  nsUpdate(lena, nsBatch, setLabel(tenancyv1.LabelTenant, tenantB)),
			want: tenantLabelDenied(nsBatch), after: tenantLabelIs(nsBatch, tenantA)},
		// Item 7.
		{name: "labeller removes the tenant label",
			try:  nsUpdate(lena, nsBatch, dropLabel(tenancyv1.LabelTenant)),
			want: tenantLabelDenied(nsBatch), after: tenantLabelIs(nsBatch, tenantA)},
		// Item 7.
		{name: "labeller creates a namespace with another tenant's label",
			try: func(ctx context.Context) error {
				return lena.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "esa-sneak", Labels: map[string]string{tenancyv1.LabelTenant: tenantB}}})
			},
			want: tenantLabelDenied("esa-sneak")},
		// Item 7: a namespace outside every tenant cannot join one by label.
		{name: "labeller labels an outside namespace into the tenant",
			try:  nsUpdate(lena, nsOutside, setLabel(tenancyv1.LabelTenant, tenantA)),
			want: tenantLabelDenied(nsOutside), after: tenantLabelIs(nsOutside, "")},

		// Item 3: deleting a HierarchyConfiguration would make a full
		// namespace of the tree a root, outside the tenant.
		{name: "HierarchyConfiguration of a full namespace deleted",
			try: func(ctx context.Context) error {
				return alice.Delete(ctx, &hncv1.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: nsFullHC, Name: hncv1.Singleton}})
			},
			want: q(`namespace "esa-full-hc" belongs to tenant "esa"`), after: parentIs(nsFullHC, tenantA)},
		// Items 3 and B: nor may a subnamespace's, which would make it a
		// root for a moment (and its quota singletons go with it).
		{name: "HierarchyConfiguration of a subnamespace deleted",
			try: func(ctx context.Context) error {
				return alice.Delete(ctx, &hncv1.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: nsStaging, Name: hncv1.Singleton}})
			},
			want: either(q(`namespace "esa-api-stg" is a subnamespace of "esa-api"`),
				q(`namespace "esa-api-stg" belongs to tenant "esa": deleting its HierarchyConfiguration`)),
			after: parentIs(nsStaging, nsAPI)},
		// Item 2: allowCascadingDeletion on a declared subtree.
		{name: "allowCascadingDeletion on a declared namespace",
			try:  hcUpdate(alice, nsDecl, func(hc *hncv1.HierarchyConfiguration) { hc.Spec.AllowCascadingDeletion = true }),
			want: declaredDenied(nsDecl)},
		// Item 2.
		{name: "allowCascadingDeletion on the tenant's root",
			try:  hcUpdate(alice, tenantA, func(hc *hncv1.HierarchyConfiguration) { hc.Spec.AllowCascadingDeletion = true }),
			want: declaredDenied(tenantA)},
		// Item 2: a platform-declared leaf's anchor, and with it the
		// namespace and its contents.
		{name: "declared leaf namespace's anchor deleted",
			try: func(ctx context.Context) error {
				return alice.Delete(ctx, anchor(nsDecl, nsDeclKid))
			},
			want: declaredDenied(nsDeclKid),
			after: func(ctx context.Context) error {
				n := &corev1.Namespace{}
				if err := get(ctx, n, "", nsDeclKid); err != nil {
					return err
				}
				if n.DeletionTimestamp != nil {
					return fmt.Errorf("namespace %s is being deleted", nsDeclKid)
				}
				return nil
			}},
		// Item 2: a declared namespace with children; HNC's own check (it
		// has children) may answer first.
		{name: "declared namespace's anchor deleted",
			try: func(ctx context.Context) error {
				return alice.Delete(ctx, anchor(tenantA, nsDecl))
			},
			want: either(declaredDenied(nsDecl), q(`subnamespace "esa-decl" has children (esa-decl-kid)`)),
			after: func(ctx context.Context) error {
				n := &corev1.Namespace{}
				if err := get(ctx, n, "", nsDecl); err != nil {
					return err
				}
				if n.DeletionTimestamp != nil {
					return fmt.Errorf("namespace %s is being deleted", nsDecl)
				}
				return get(ctx, anchor(tenantA, nsDecl), tenantA, nsDecl)
			}},
	})
	// The lead's own subnamespace stays the lead's: deleting its anchor is
	// allowed (checked last; it deletes the namespace).
	t.Run("the lead deletes the subnamespace they made (allowed)", func(t *testing.T) {
		ctx := context.Background()
		if err := alice.Delete(ctx, anchor(nsAPI, nsLeadMade)); err != nil {
			t.Errorf("deleting the lead's own subnamespace: %v", err)
		}
	})
}

// tenantLabelDenied matches a denial naming the tenant label (item 7).
func tenantLabelDenied(ns string) string {
	return q(tenancyv1.LabelTenant) + `.*` + q(fmt.Sprintf("%q", ns)) + `|` + q(fmt.Sprintf("%q", ns)) + `.*` + q(tenancyv1.LabelTenant)
}

// declaredDenied matches a denial naming a namespace the platform declared
// in spec.namespaces (item 2).
func declaredDenied(ns string) string {
	why := `(spec\.namespaces|declared|platform)`
	return q(fmt.Sprintf("%q", ns)) + `.*` + why + `|` + why + `.*` + q(fmt.Sprintf("%q", ns))
}
