package forest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func TestLocalConditions(t *testing.T) {
	f := build(t, "a")
	a := f.Get("a")
	if !a.SetLocalCondition(ReasonDeletingCRD, "m1") {
		t.Errorf("new condition reported no change")
	}
	if a.SetLocalCondition(ReasonDeletingCRD, "m1") {
		t.Errorf("identical condition reported a change")
	}
	if !a.SetLocalCondition(ReasonDeletingCRD, "m2") {
		t.Errorf("new message reported no change")
	}
	if a.SetLocalCondition(ReasonAncestor, "derived") {
		t.Errorf("ReasonAncestor was stored")
	}
	if diff := cmp.Diff(map[Reason]string{ReasonDeletingCRD: "m2"}, a.LocalConditions()); diff != "" {
		t.Errorf("LocalConditions() (-want +got):\n%s", diff)
	}
	if !a.HasLocalCondition(ReasonDeletingCRD) || !a.ClearLocalCondition(ReasonDeletingCRD) || a.ClearLocalCondition(ReasonDeletingCRD) {
		t.Errorf("ClearLocalCondition did not clear exactly once")
	}
}

func TestHalted(t *testing.T) {
	tests := []struct {
		name       string
		conds      map[string]Reason // namespace to reason
		ns         string
		wantHalted bool
		wantRoot   string
	}{
		{name: "nothing halted", ns: "d"},
		{name: "bad configuration does not halt", conds: map[string]Reason{"b": ReasonIllegalManagedLabel}, ns: "d"},
		{name: "a missing anchor halts", conds: map[string]Reason{"b": ReasonAnchorMissing}, ns: "d", wantRoot: "b"},
		{name: "halted itself", conds: map[string]Reason{"d": ReasonParentMissing}, ns: "d", wantHalted: true, wantRoot: "d"},
		{name: "halted ancestor", conds: map[string]Reason{"b": ReasonDeletingCRD}, ns: "d", wantRoot: "b"},
		{name: "nearest halted ancestor", conds: map[string]Reason{"a": ReasonIllegalParent, "c": ReasonDeletingCRD}, ns: "d", wantRoot: "c"},
		{name: "sibling does not matter", conds: map[string]Reason{"e": ReasonDeletingCRD}, ns: "d"},
		{name: "cycle without conditions terminates", ns: "w"},
		{name: "cycle member halted", conds: map[string]Reason{"z": ReasonInCycle}, ns: "w", wantRoot: "z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := build(t, structureSpecs...)
			for nm, r := range tc.conds {
				f.Get(nm).SetLocalCondition(r, "msg")
			}
			ns := f.Get(tc.ns)
			if got := ns.IsHalted(); got != tc.wantHalted {
				t.Errorf("IsHalted() = %v, want %v", got, tc.wantHalted)
			}
			if got := ns.HaltedRoot(); got != tc.wantRoot {
				t.Errorf("HaltedRoot() = %q, want %q", got, tc.wantRoot)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	f := build(t, "a", "b:a", "c:b")
	f.Get("a").SetLocalCondition(ReasonParentMissing, "Parent \"gone\" does not exist")
	c := f.Get("c")
	c.SetLocalCondition(ReasonIllegalManagedLabel, "bad label")
	c.SetLocalCondition(ReasonAnchorMissing, "no anchor")

	want := []metav1.Condition{
		{Type: api.ConditionActivitiesHalted, Status: metav1.ConditionTrue, Reason: api.ReasonAncestor,
			Message: `Propagation paused in "c" and its descendants due to ActivitiesHalted condition on ancestor "a"`},
		{Type: api.ConditionBadConfiguration, Status: metav1.ConditionTrue, Reason: api.ReasonIllegalManagedLabel, Message: "bad label"},
		{Type: api.ConditionBadConfiguration, Status: metav1.ConditionTrue, Reason: api.ReasonAnchorMissing, Message: "no anchor"},
	}
	if diff := cmp.Diff(want, c.Conditions()); diff != "" {
		t.Errorf("Conditions() (-want +got):\n%s", diff)
	}
	if got := f.Get("a").Conditions(); len(got) != 1 || got[0].Reason != api.ReasonParentMissing {
		t.Errorf("a.Conditions() = %+v, want only its own ParentMissing", got)
	}
}

func TestStatusConditions(t *testing.T) {
	f := build(t, "a")
	a := f.Get("a")
	a.SetLocalCondition(ReasonDeletingCRD, "deleting")
	a.SetLocalCondition(ReasonIllegalManagedLabel, "bad")
	old := metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	existing := []metav1.Condition{
		{Type: api.ConditionActivitiesHalted, Status: metav1.ConditionTrue, Reason: api.ReasonDeletingCRD, Message: "deleting", LastTransitionTime: old},
		{Type: api.ConditionBadConfiguration, Status: metav1.ConditionTrue, Reason: api.ReasonIllegalManagedLabel, Message: "older message", LastTransitionTime: old},
	}
	want := []metav1.Condition{
		{Type: api.ConditionActivitiesHalted, Status: metav1.ConditionTrue, Reason: api.ReasonDeletingCRD, Message: "deleting", LastTransitionTime: old, ObservedGeneration: 7},
		{Type: api.ConditionBadConfiguration, Status: metav1.ConditionTrue, Reason: api.ReasonIllegalManagedLabel, Message: "bad", LastTransitionTime: now, ObservedGeneration: 7},
	}
	if diff := cmp.Diff(want, a.StatusConditions(7, existing, now)); diff != "" {
		t.Errorf("StatusConditions() (-want +got):\n%s", diff)
	}
}

func TestRefreshConditions(t *testing.T) {
	cfg, err := Options{ManagerNamespace: "canopy-system", ManagedLabels: []string{`team\.example\.com/.*`}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(f *Forest) *Namespace
		want  map[Reason]string
	}{
		{
			name:  "healthy child",
			setup: func(f *Forest) *Namespace { return f.Get("b") },
		},
		{
			name: "missing parent",
			setup: func(f *Forest) *Namespace {
				b := f.Get("b")
				b.SetParent(f.Get("ghost"))
				return b
			},
			want: map[Reason]string{ReasonParentMissing: `Parent "ghost" does not exist`},
		},
		{
			name: "excluded parent",
			setup: func(f *Forest) *Namespace {
				b := f.Get("b")
				ks := f.Get("kube-system")
				ks.SetExists(true)
				b.SetParent(ks)
				return b
			},
			want: map[Reason]string{ReasonIllegalParent: `Parent "kube-system" is an unmanaged namespace (excluded by the administrator)`},
		},
		{
			name: "cycle",
			setup: func(f *Forest) *Namespace {
				f.Get("a").SetParent(f.Get("b"))
				return f.Get("b")
			},
			want: map[Reason]string{ReasonInCycle: "Namespace is a member of the cycle: a <- b <- a"},
		},
		{
			name: "subnamespace without anchor",
			setup: func(f *Forest) *Namespace {
				b := f.Get("b")
				b.SetIsSub(true)
				return b
			},
			want: map[Reason]string{ReasonAnchorMissing: "The anchor is missing in the parent namespace"},
		},
		{
			name: "subnamespace with anchor",
			setup: func(f *Forest) *Namespace {
				b := f.Get("b")
				b.SetIsSub(true)
				f.Get("a").SetAnchors([]string{"b"})
				return b
			},
		},
		{
			name: "illegal managed metadata",
			setup: func(f *Forest) *Namespace {
				b := f.Get("b")
				b.SetHierarchyMetadata(
					[]api.MetaKVP{{Key: "team.example.com/name", Value: "x"}, {Key: "env", Value: "prod"}, {Key: "env", Value: "dev"}},
					[]api.MetaKVP{{Key: "note", Value: "x"}})
				return b
			},
			want: map[Reason]string{
				ReasonIllegalManagedLabel:      "Not a legal managed label (set via --managed-namespace-label): env",
				ReasonIllegalManagedAnnotation: "Not a legal managed annotation (set via --managed-namespace-annotation): note",
			},
		},
		{
			name: "stale structural condition is cleared, DeletingCRD kept",
			setup: func(f *Forest) *Namespace {
				b := f.Get("b")
				b.SetLocalCondition(ReasonParentMissing, "stale")
				b.SetLocalCondition(ReasonDeletingCRD, "deleting")
				return b
			},
			want: map[Reason]string{ReasonDeletingCRD: "deleting"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := buildWith(t, cfg, "a", "b:a")
			ns := tc.setup(f)
			before := ns.LocalConditions()
			changed := ns.RefreshConditions()
			if diff := cmp.Diff(tc.want, ns.LocalConditions(), cmpEmptyMap); diff != "" {
				t.Errorf("LocalConditions() after RefreshConditions (-want +got):\n%s", diff)
			}
			if wantChanged := !cmp.Equal(before, tc.want, cmpEmptyMap); changed != wantChanged {
				t.Errorf("RefreshConditions() = %v, want %v", changed, wantChanged)
			}
			if ns.RefreshConditions() {
				t.Errorf("second RefreshConditions() reported a change")
			}
		})
	}
}

// cmpEmptyMap treats nil and empty maps as equal.
var cmpEmptyMap = cmp.FilterValues(func(x, y map[Reason]string) bool { return len(x) == 0 && len(y) == 0 }, cmp.Comparer(func(_, _ map[Reason]string) bool { return true }))
