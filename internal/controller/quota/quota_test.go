package quota

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
)

func rl(t testing.TB, s string) corev1.ResourceList {
	t.Helper()
	l, err := quota.ParseList(s)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return l
}

var quantityEqual = cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })

// testForest is root ── a ── a1, root ── b, plus a lone namespace.
func testForest() *forest.Forest {
	f := forest.New()
	f.Lock()
	defer f.Unlock()
	for _, n := range []string{"root", "a", "a1", "b", "lone"} {
		f.Get(n).SetExists(true)
	}
	f.Get("a").SetParent(f.Get("root"))
	f.Get("a1").SetParent(f.Get("a"))
	f.Get("b").SetParent(f.Get("root"))
	return f
}

func TestTreeOf(t *testing.T) {
	f := testForest()
	tests := []struct {
		ns   string
		want TreeView
	}{
		{"a1", TreeView{Root: "root", Namespaces: []string{"a", "a1", "b", "root"}, Tree: quota.Tree{"root": "", "a": "root", "a1": "a", "b": "root"}}},
		{"root", TreeView{Root: "root", Namespaces: []string{"a", "a1", "b", "root"}, Tree: quota.Tree{"root": "", "a": "root", "a1": "a", "b": "root"}}},
		{"lone", TreeView{Root: "lone", Namespaces: []string{"lone"}, Tree: quota.Tree{"lone": ""}}},
		{"unknown", TreeView{Root: "unknown", Namespaces: []string{"unknown"}, Tree: quota.Tree{"unknown": ""}}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, TreeOf(f, tc.ns), cmpopts.IgnoreUnexported(TreeView{})); diff != "" {
			t.Errorf("TreeOf(%q) (-want +got):\n%s", tc.ns, diff)
		}
		if got := RootOf(f, tc.ns); got != tc.want.Root {
			t.Errorf("RootOf(%q) = %q, want %q", tc.ns, got, tc.want.Root)
		}
	}
}

func TestTreeOfSkipsMissingNamespaces(t *testing.T) {
	f := forest.New()
	f.Lock()
	f.Get("child").SetExists(true)
	f.Get("child").SetParent(f.Get("ghost")) // parent not created yet
	f.Unlock()
	got := TreeOf(f, "child")
	want := TreeView{Root: "ghost", Namespaces: []string{"child"}, Tree: quota.Tree{"ghost": "", "child": "ghost"}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(TreeView{})); diff != "" {
		t.Errorf("TreeOf (-want +got):\n%s", diff)
	}
}

func TestLedgerName(t *testing.T) {
	if got := LedgerName("payments"); got != "quota-ledger-payments" {
		t.Errorf("LedgerName = %q", got)
	}
	long := string(make([]byte, 300))
	if got := LedgerName(long); len(got) > maxNameLen || got[:len(ledgerPrefix)] != ledgerPrefix {
		t.Errorf("LedgerName of a long root = %q (%d chars)", got, len(got))
	}
}

func singleton(ns, scope string, hard corev1.ResourceList) corev1.ResourceQuota {
	sel, _ := quota.ParseScopeKey(scope)
	return corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: quota.SingletonName(scope), Labels: map[string]string{LabelSingleton: "true"}},
		Spec:       corev1.ResourceQuotaSpec{Hard: hard, ScopeSelector: sel},
	}
}

func TestDesiredSingletons(t *testing.T) {
	f := testForest()
	v := TreeOf(f, "root")
	high := "PriorityClass In (high)"
	tests := []struct {
		name   string
		quotas []quota.Quota
		want   map[string][]corev1.ResourceQuota
	}{
		{
			name: "no quotas, no singletons",
			want: map[string][]corev1.ResourceQuota{},
		},
		{
			name: "quota on a covers its subtree, strictest wins in a1",
			quotas: []quota.Quota{
				{Kind: quota.KindHierarchicalResourceQuota, Namespace: "a", Name: "q", Hard: rl(t, "pods=10,cpu=4")},
				{Kind: quota.KindHierarchicalResourceQuota, Namespace: "a1", Name: "q", Hard: rl(t, "pods=3")},
			},
			want: map[string][]corev1.ResourceQuota{
				"a":  {singleton("a", "", rl(t, "pods=10,cpu=4"))},
				"a1": {singleton("a1", "", rl(t, "pods=3,cpu=4"))},
			},
		},
		{
			name: "scoped quota gets its own singleton",
			quotas: []quota.Quota{
				{Kind: quota.KindHierarchicalResourceQuota, Namespace: "root", Name: "q", Hard: rl(t, "pods=10")},
				{Kind: quota.KindHierarchicalQuota, Namespace: "root", Name: "hi", Hard: rl(t, "pods=2"), ScopeKey: high},
			},
			want: map[string][]corev1.ResourceQuota{
				"root": {singleton("root", "", rl(t, "pods=10")), singleton("root", high, rl(t, "pods=2"))},
				"a":    {singleton("a", "", rl(t, "pods=10")), singleton("a", high, rl(t, "pods=2"))},
				"a1":   {singleton("a1", "", rl(t, "pods=10")), singleton("a1", high, rl(t, "pods=2"))},
				"b":    {singleton("b", "", rl(t, "pods=10")), singleton("b", high, rl(t, "pods=2"))},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := quota.NewSnapshot(v.Tree, tc.quotas, nil)
			got, err := DesiredSingletons(snap, tc.quotas, v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, quantityEqual); diff != "" {
				t.Errorf("DesiredSingletons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanSingletons(t *testing.T) {
	unlabelled := singleton("b", "", rl(t, "pods=1"))
	unlabelled.Labels = nil
	userQuota := corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "mine"}}
	adopted := singleton("b", "", rl(t, "pods=5"))
	epoched := func(rq corev1.ResourceQuota) corev1.ResourceQuota {
		rq.Annotations = map[string]string{AnnotationEpoch: "e1"}
		return rq
	}
	tests := []struct {
		name              string
		existing, desired map[string][]corev1.ResourceQuota
		want              SingletonPlan
	}{
		{
			name:    "create missing",
			desired: map[string][]corev1.ResourceQuota{"a": {singleton("a", "", rl(t, "pods=5"))}},
			want:    SingletonPlan{Create: []corev1.ResourceQuota{singleton("a", "", rl(t, "pods=5"))}},
		},
		{
			name:     "unchanged is left alone",
			existing: map[string][]corev1.ResourceQuota{"a": {epoched(singleton("a", "", rl(t, "pods=5")))}},
			desired:  map[string][]corev1.ResourceQuota{"a": {singleton("a", "", rl(t, "pods=5"))}},
		},
		{
			name:     "unchanged without an epoch is updated, to get one",
			existing: map[string][]corev1.ResourceQuota{"a": {singleton("a", "", rl(t, "pods=5"))}},
			desired:  map[string][]corev1.ResourceQuota{"a": {singleton("a", "", rl(t, "pods=5"))}},
			want:     SingletonPlan{Update: []corev1.ResourceQuota{singleton("a", "", rl(t, "pods=5"))}},
		},
		{
			name:     "hard changed is updated, its epoch kept",
			existing: map[string][]corev1.ResourceQuota{"a": {epoched(singleton("a", "", rl(t, "pods=5")))}},
			desired:  map[string][]corev1.ResourceQuota{"a": {singleton("a", "", rl(t, "pods=7"))}},
			want:     SingletonPlan{Update: []corev1.ResourceQuota{epoched(singleton("a", "", rl(t, "pods=7")))}},
		},
		{
			name:     "no longer covered is deleted, a user's quota is kept",
			existing: map[string][]corev1.ResourceQuota{"a": {singleton("a", "", rl(t, "pods=5")), userQuota}},
			want:     SingletonPlan{Delete: []corev1.ResourceQuota{singleton("a", "", rl(t, "pods=5"))}},
		},
		{
			name:     "an unlabelled object with the name is adopted",
			existing: map[string][]corev1.ResourceQuota{"b": {unlabelled}},
			desired:  map[string][]corev1.ResourceQuota{"b": {adopted}},
			want:     SingletonPlan{Update: []corev1.ResourceQuota{adopted}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanSingletons(tc.existing, tc.desired)
			if diff := cmp.Diff(tc.want, got, quantityEqual); diff != "" {
				t.Errorf("PlanSingletons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestActualUsage(t *testing.T) {
	high := "PriorityClass In (high)"
	a := singleton("a", "", nil)
	a.Status.Used = rl(t, "pods=2,cpu=1")
	ah := singleton("a", high, nil)
	ah.Status.Used = rl(t, "pods=1")
	pending := singleton("b", "", nil) // status not filled yet
	got := ActualUsage(map[string][]corev1.ResourceQuota{"a": {a, ah}, "b": {pending}})
	want := quota.Usage{
		{Namespace: "a"}:              rl(t, "pods=2,requests.cpu=1"),
		{Namespace: "a", Scope: high}: rl(t, "pods=1"),
	}
	if diff := cmp.Diff(want, got, quantityEqual); diff != "" {
		t.Errorf("ActualUsage (-want +got):\n%s", diff)
	}
}

func TestSummary(t *testing.T) {
	hard := rl(t, "pods=10,requests.cpu=2,limits.cpu=4,limits.memory=1Gi")
	used := rl(t, "pods=3,requests.cpu=500m,limits.cpu=1")
	if got, want := Summary(used, hard, false), "pods: 3/10, requests.cpu: 500m/2"; got != want {
		t.Errorf("requests summary = %q, want %q", got, want)
	}
	if got, want := Summary(used, hard, true), "limits.cpu: 1/4, limits.memory: 0/1Gi"; got != want {
		t.Errorf("limits summary = %q, want %q", got, want)
	}
}

func TestHRQStatus(t *testing.T) {
	tree := quota.Tree{"p": "", "c": "p"}
	h := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=5,cpu=2")}}
	snap := quota.NewSnapshot(tree, []quota.Quota{quota.FromHRQ(h)}, quota.Usage{
		{Namespace: "p"}: rl(t, "pods=1"), {Namespace: "c"}: rl(t, "pods=2,requests.cpu=1"),
	})
	want := hncv1.HierarchicalResourceQuotaStatus{Hard: rl(t, "pods=5,cpu=2"), Used: rl(t, "pods=3,cpu=1")}
	if diff := cmp.Diff(want, HRQStatus(snap, h), quantityEqual); diff != "" {
		t.Errorf("HRQStatus (-want +got):\n%s", diff)
	}
}

func TestHQStatusConditions(t *testing.T) {
	tree := quota.Tree{"p": "", "c": "p"}
	earlier := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(earlier.Add(time.Hour))
	mk := func(hard string) *tenancyv1.HierarchicalQuota {
		return &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "q", Generation: 3},
			Spec: tenancyv1.HierarchicalQuotaSpec{Hard: rl(t, hard)}}
	}
	tests := []struct {
		name           string
		q              *tenancyv1.HierarchicalQuota
		invalid        string
		wantReady      metav1.ConditionStatus
		wantOver       metav1.ConditionStatus
		wantOverReason string
		wantReqSummary string
	}{
		{"fits", mk("pods=5"), "", metav1.ConditionTrue, metav1.ConditionFalse, ReasonWithinLimits, "pods: 3/5"},
		{"lowered below usage", mk("pods=2"), "", metav1.ConditionTrue, metav1.ConditionTrue, ReasonOverLimit, "pods: 3/2"},
		{"invalid spec", mk("pods=5"), "spec.allocations: bad", metav1.ConditionFalse, metav1.ConditionFalse, ReasonWithinLimits, "pods: 3/5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// An existing Ready condition keeps its transition time when
			// its status does not change.
			tc.q.Status.Conditions = []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonEnforced, LastTransitionTime: earlier}}
			snap := quota.NewSnapshot(tree, []quota.Quota{quota.FromHierarchicalQuota(tc.q)}, quota.Usage{
				{Namespace: "p"}: rl(t, "pods=1"), {Namespace: "c"}: rl(t, "pods=2"),
			})
			st := HQStatus(snap, tc.q, tc.invalid, now)
			got := map[string]metav1.Condition{}
			for _, c := range st.Conditions {
				got[c.Type] = c
				if c.ObservedGeneration != 3 {
					t.Errorf("condition %s observedGeneration = %d, want 3", c.Type, c.ObservedGeneration)
				}
			}
			if got[ConditionReady].Status != tc.wantReady {
				t.Errorf("Ready = %s, want %s", got[ConditionReady].Status, tc.wantReady)
			}
			wantTime := now
			if tc.wantReady == metav1.ConditionTrue {
				wantTime = earlier
			}
			if lt := got[ConditionReady].LastTransitionTime; !lt.Equal(&wantTime) {
				t.Errorf("Ready lastTransitionTime = %v, want %v", got[ConditionReady].LastTransitionTime, wantTime)
			}
			if got[ConditionOverLimit].Status != tc.wantOver || got[ConditionOverLimit].Reason != tc.wantOverReason {
				t.Errorf("OverLimit = %s/%s, want %s/%s", got[ConditionOverLimit].Status, got[ConditionOverLimit].Reason, tc.wantOver, tc.wantOverReason)
			}
			if st.RequestsSummary != tc.wantReqSummary {
				t.Errorf("requestsSummary = %q, want %q", st.RequestsSummary, tc.wantReqSummary)
			}
			if st.ObservedGeneration != 3 {
				t.Errorf("observedGeneration = %d", st.ObservedGeneration)
			}
		})
	}
}

// The tree cache gives what TreeOf gives, copying a tree again only after
// the forest's structure changed.
func TestTreeCache(t *testing.T) {
	f := testForest()
	var c TreeCache
	check := func(ns string) TreeView {
		t.Helper()
		got := c.TreeOf(f, ns)
		want := TreeOf(f, ns)
		if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(TreeView{})); diff != "" {
			t.Errorf("TreeOf(%s) (-want +got):\n%s", ns, diff)
		}
		return got
	}
	first := check("a1")
	if again := check("b"); again.version != first.version || again.version == 0 {
		t.Errorf("the same tree was copied again without a change (versions %d, %d)", first.version, again.version)
	}
	f.Lock()
	f.Get("b").SetParent(f.Get("a"))
	f.Unlock()
	moved := check("b")
	if moved.Tree["b"] != "a" {
		t.Errorf("after b moved under a, the cached tree has b under %q", moved.Tree["b"])
	}
	check("lone")
	check("unknown")
}
