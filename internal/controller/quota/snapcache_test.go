package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/quota"
)

// The cached snapshot, patched change by change, decides as a snapshot
// built from scratch does.
func TestSnapshotCache(t *testing.T) {
	v := TreeView{Root: "r", Namespaces: []string{"a", "b", "r"}, Tree: quota.Tree{"r": "", "a": "r", "b": "r"}}
	tq := TreeQuotas{HRQs: []hncv1.HierarchicalResourceQuota{{ObjectMeta: metav1.ObjectMeta{Namespace: "r", Name: "q", ResourceVersion: "1"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=10")}}}}
	sing := func(ns, rv, used string) corev1.ResourceQuota {
		rq := singleton(ns, "", rl(t, "pods=10"))
		rq.ResourceVersion, rq.Status.Used = rv, rl(t, used)
		return rq
	}
	var c SnapshotCache
	steps := []map[string][]corev1.ResourceQuota{
		{"a": {sing("a", "5", "pods=3")}, "b": {sing("b", "6", "pods=2")}},
		{"a": {sing("a", "7", "pods=4")}, "b": {sing("b", "6", "pods=2")}},
		{"a": {sing("a", "7", "pods=4")}},
		{"a": {sing("a", "9", "pods=1")}, "b": {sing("b", "10", "pods=6")}, "r": {sing("r", "11", "pods=2")}},
	}
	for i, s := range steps {
		got, gotVS := c.Snapshot(v, tq, s)
		want := quota.NewSnapshot(v.Tree, tq.Engine(), ActualUsage(s))
		for _, ns := range []string{"r", "a", "b"} {
			if g, w := quota.SubtreeUsage(got, ns, ""), quota.SubtreeUsage(want, ns, ""); !quota.Equal(g, w) {
				t.Errorf("step %d: subtree usage of %s = %q, want %q", i, ns, quota.String(g), quota.String(w))
			}
		}
		if diff := cmp.Diff(ObservedVersions(s), gotVS); diff != "" {
			t.Errorf("step %d: versions (-want +got):\n%s", i, diff)
		}
	}
}

// A quota object written for its status alone (an HRQ's status is written
// with the object, so its resourceVersion changes every time) keeps the
// cached snapshot; a change of what it limits rebuilds it, including a
// hard of zero where there was none.
func TestSnapshotCacheKeysOnWhatQuotasLimit(t *testing.T) {
	v := TreeView{Root: "r", Namespaces: []string{"a", "r"}, Tree: quota.Tree{"r": "", "a": "r"}}
	hrq := hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "r", Name: "q", ResourceVersion: "1"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=10")}}
	sing := singleton("a", "", rl(t, "pods=10"))
	sing.ResourceVersion, sing.Status.Used = "5", rl(t, "pods=3")
	singletons := map[string][]corev1.ResourceQuota{"a": {sing}}
	var c SnapshotCache
	first, _ := c.Snapshot(v, TreeQuotas{HRQs: []hncv1.HierarchicalResourceQuota{hrq}}, singletons)

	statusOnly := *hrq.DeepCopy()
	statusOnly.ResourceVersion = "2"
	statusOnly.Status.Used = rl(t, "pods=3")
	if got, _ := c.Snapshot(v, TreeQuotas{HRQs: []hncv1.HierarchicalResourceQuota{statusOnly}}, singletons); got != first {
		t.Errorf("a status-only write of the HRQ rebuilt the snapshot")
	}
	zeroCPU := *statusOnly.DeepCopy()
	zeroCPU.ResourceVersion = "3"
	zeroCPU.Spec.Hard = rl(t, "pods=10,cpu=0")
	got, _ := c.Snapshot(v, TreeQuotas{HRQs: []hncv1.HierarchicalResourceQuota{zeroCPU}}, singletons)
	if got == first {
		t.Fatalf("adding cpu=0 to the HRQ's hard kept the old snapshot")
	}
	if err := quota.Decide(got, "a", "", rl(t, "pods=3,requests.cpu=1m")); err == nil {
		t.Errorf("the rebuilt snapshot admits cpu under a hard of cpu=0")
	}
}
