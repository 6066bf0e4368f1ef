package quota

import (
	"fmt"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/quota"
)

// BenchmarkDecideTree is the decide phase of one reconcile of a tree of n
// namespaces (fan-out 10) under one HierarchicalResourceQuota at its root,
// every namespace holding its singleton with usage: what the leader
// computes on every event of a large tree.
func BenchmarkDecideTree(b *testing.B) {
	for _, n := range []int{10, 1000, 3000} {
		tree := quota.Tree{"ns0": ""}
		names := []string{"ns0"}
		for i := 1; i < n; i++ {
			tree["ns"+strconv.Itoa(i)] = "ns" + strconv.Itoa((i-1)/10)
			names = append(names, "ns"+strconv.Itoa(i))
		}
		v := TreeView{Root: "ns0", Namespaces: names, Tree: tree}
		hard := corev1.ResourceList{"pods": resource.MustParse(strconv.Itoa(10 * n))}
		tq := TreeQuotas{HRQs: []hncv1.HierarchicalResourceQuota{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns0", Name: "q"},
			Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: hard}}}}
		existing := map[string][]corev1.ResourceQuota{}
		for i, ns := range names {
			rq := corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: quota.SingletonName(""),
				Labels: map[string]string{LabelSingleton: "true"}, ResourceVersion: strconv.Itoa(100 + i)},
				Spec:   corev1.ResourceQuotaSpec{Hard: hard.DeepCopy()},
				Status: corev1.ResourceQuotaStatus{Hard: hard.DeepCopy(), Used: corev1.ResourceList{"pods": resource.MustParse("1")}}}
			existing[ns] = []corev1.ResourceQuota{rq}
		}
		ledger := &quota.Ledger{Root: "ns0", Entries: map[quota.Key]quota.Entry{}}
		for i, ns := range names {
			ledger.Entries[quota.Key{Namespace: ns}] = quota.Entry{Used: corev1.ResourceList{"pods": resource.MustParse("1")}, Base: uint64(99 + i)}
		}
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			for b.Loop() {
				quotas := tq.Engine()
				snap := quota.NewSnapshot(v.Tree, quotas, ActualUsage(existing))
				desired, err := DesiredSingletons(snap, quotas, v)
				if err != nil {
					b.Fatal(err)
				}
				next, _ := quota.Prune(ledger, KeepEntry(v, desired))
				eff := quota.Effective(next, snap, ObservedVersions(existing))
				p := PlanSingletons(existing, KeepClamps(existing, desired, eff, nil))
				if len(p.Create)+len(p.Update)+len(p.Delete) != 0 {
					b.Fatalf("plan %d/%d/%d, want nothing to do", len(p.Create), len(p.Update), len(p.Delete))
				}
				_ = HRQStatus(snap, &tq.HRQs[0])
			}
		})
	}
}
