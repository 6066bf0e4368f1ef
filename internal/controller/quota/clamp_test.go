package quota

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/canopyhq/canopy/internal/quota"
)

func list(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func str(l corev1.ResourceList) string { return quota.String(l) }

func TestClampHard(t *testing.T) {
	tests := []struct {
		name        string
		hard, prev  corev1.ResourceList
		exceeded    quota.ExceededError
		want        string
		wantChanged bool
	}{
		{
			name: "batch overshoots: hard drops to prev plus room",
			hard: list("pods", "100"), prev: list("pods", "40"),
			exceeded: quota.ExceededError{Used: list("pods", "97"), Limited: list("pods", "100"), Requested: list("pods", "5")},
			want:     "pods=43", wantChanged: true,
		},
		{
			name: "no room left: no clamp, the webhook's denial stands",
			hard: list("pods", "100"), prev: list("pods", "40"),
			exceeded: quota.ExceededError{Used: list("pods", "100"), Limited: list("pods", "100"), Requested: list("pods", "3")},
			want:     "pods=100", wantChanged: false,
		},
		{
			name: "over limit after lowering: no clamp",
			hard: list("pods", "100"), prev: list("pods", "40"),
			exceeded: quota.ExceededError{Used: list("pods", "120"), Limited: list("pods", "100"), Requested: list("pods", "2")},
			want:     "pods=100", wantChanged: false,
		},
		{
			name: "bare cpu in the singleton meets requests.cpu in the quota; other resources untouched",
			hard: list("cpu", "10", "pods", "100"), prev: list("cpu", "2", "pods", "3"),
			exceeded: quota.ExceededError{Used: list("requests.cpu", "9"), Limited: list("requests.cpu", "10"), Requested: list("requests.cpu", "2")},
			want:     "cpu=3,pods=100", wantChanged: true,
		},
		{
			name: "already at or below the clamp: unchanged",
			hard: list("pods", "42"), prev: list("pods", "40"),
			exceeded: quota.ExceededError{Used: list("pods", "97"), Limited: list("pods", "100"), Requested: list("pods", "5")},
			want:     "pods=42", wantChanged: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := ClampHard(tc.hard, tc.prev, &tc.exceeded)
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if diff := cmp.Diff(tc.want, str(got)); diff != "" {
				t.Errorf("hard (-want +got):\n%s", diff)
			}
		})
	}
}

// clampSnapshot is tree r -> a, b with a quota of 100 pods and 10 cpu on
// r; a uses 40 pods and 2 cpu, b bPods pods and 1 cpu.
func clampSnapshot(bPods string) *quota.Snapshot {
	tree := quota.Tree{"r": "", "a": "r", "b": "r"}
	quotas := []quota.Quota{{Kind: "HierarchicalResourceQuota", Namespace: "r", Name: "q", Hard: list("pods", "100", "requests.cpu", "10")}}
	return quota.NewSnapshot(tree, quotas, quota.Usage{
		{Namespace: "a"}: list("pods", "40", "requests.cpu", "2"),
		{Namespace: "b"}: list("pods", bPods, "requests.cpu", "1"),
	})
}

func TestKeepClamps(t *testing.T) {
	snap := clampSnapshot
	rq := func(hard corev1.ResourceList, clamped bool) corev1.ResourceQuota {
		r := corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: quota.UnscopedSingletonName}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}
		if clamped {
			r.Annotations = map[string]string{AnnotationClampedAt: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).Format(time.RFC3339Nano)}
		}
		return r
	}
	desired := map[string][]corev1.ResourceQuota{"a": {rq(list("pods", "100", "requests.cpu", "10"), false)}}
	tests := []struct {
		name     string
		existing corev1.ResourceQuota
		bPods    string
		busy     map[quota.Key]bool
		want     string
	}{
		// 43 for a leaves 57 for b: the tree is full at 40+57, and a clamp
		// that refuses nothing that fits stays however old it is, so that
		// the leader never writes a busy singleton for nothing.
		{"clamp with the tree full is kept", rq(list("pods", "43", "requests.cpu", "10"), true), "57", nil, "pods=43,requests.cpu=10"},
		{"clamp with less room than it leaves is kept", rq(list("pods", "43", "requests.cpu", "10"), true), "58", nil, "pods=43,requests.cpu=10"},
		{"clamp refusing what fits is restored", rq(list("pods", "43", "requests.cpu", "10"), true), "40", nil, "pods=100,requests.cpu=10"},
		// The batch the clamp was made for is retrying at its version.
		{"clamp refusing what fits is kept while busy", rq(list("pods", "43", "requests.cpu", "10"), true), "40", map[quota.Key]bool{{Namespace: "a"}: true}, "pods=43,requests.cpu=10"},
		{"another scope's reservation does not keep it", rq(list("pods", "43", "requests.cpu", "10"), true), "40", map[quota.Key]bool{{Namespace: "a", Scope: "x"}: true}, "pods=100,requests.cpu=10"},
		{"a busy namespace does not keep an unclamped singleton low", rq(list("pods", "43"), false), "40", map[quota.Key]bool{{Namespace: "a"}: true}, "pods=100,requests.cpu=10"},
		{"cpu clamp refusing a milli-cpu that fits is restored", rq(list("pods", "100", "requests.cpu", "6999m"), true), "40", nil, "pods=100,requests.cpu=10"},
		{"cpu clamp at the room left is kept", rq(list("pods", "100", "requests.cpu", "9"), true), "40", nil, "pods=100,requests.cpu=9"},
		{"unclamped singleton follows desired", rq(list("pods", "43"), false), "57", nil, "pods=100,requests.cpu=10"},
		{"a clamp never raises", rq(list("pods", "200", "requests.cpu", "10"), true), "57", nil, "pods=100,requests.cpu=10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := KeepClamps(map[string][]corev1.ResourceQuota{"a": {tc.existing}}, desired, snap(tc.bPods), tc.busy)
			if diff := cmp.Diff(tc.want, str(got["a"][0].Spec.Hard)); diff != "" {
				t.Errorf("hard (-want +got):\n%s", diff)
			}
		})
	}
	if str(desired["a"][0].Spec.Hard) != "pods=100,requests.cpu=10" {
		t.Errorf("KeepClamps modified its input: %s", str(desired["a"][0].Spec.Hard))
	}
}

func TestIsBatch(t *testing.T) {
	tests := []struct {
		name       string
		prev, next corev1.ResourceList
		want       bool
	}{
		{"one pod", list("pods", "3"), list("pods", "4"), false},
		{"three pods", list("pods", "3"), list("pods", "6"), true},
		{"object count", list("count/deployments.apps", "0"), list("count/deployments.apps", "2"), true},
		{"cpu alone tells nothing", list("requests.cpu", "1"), list("requests.cpu", "5"), false},
		{"new resource counted from zero", nil, list("pods", "2"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsBatch(tc.prev, tc.next); got != tc.want {
				t.Errorf("IsBatch = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestWriteHard checks that hard is written to status before spec, so that
// kube-controller-manager finds nothing to copy, and that a singleton with
// no status yet gets its spec only.
func TestWriteHard(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		statusHard corev1.ResourceList
		want       []string
		wantStatus string
	}{
		{"status first, then spec", list("pods", "100"), []string{"status", "spec"}, "pods=43"},
		{"no status yet: spec only", nil, []string{"spec"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rq := singleton("a", "", list("pods", "100"))
			rq.Status = corev1.ResourceQuotaStatus{Hard: tc.statusHard}
			if tc.statusHard != nil {
				rq.Status.Used = list("pods", "40")
			}
			var writes []string
			c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(&rq).
				WithStatusSubresource(&corev1.ResourceQuota{}).
				WithInterceptorFuncs(interceptor.Funcs{
					Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
						writes = append(writes, "spec")
						return c.Update(ctx, obj, opts...)
					},
					SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
						writes = append(writes, sub)
						return c.SubResource(sub).Update(ctx, obj, opts...)
					},
				}).Build()
			cur := &corev1.ResourceQuota{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(&rq), cur); err != nil {
				t.Fatal(err)
			}
			cur.Spec.Hard = list("pods", "43")
			if err := WriteHard(ctx, c, cur); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, writes); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			got := &corev1.ResourceQuota{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(&rq), got); err != nil {
				t.Fatal(err)
			}
			if s := str(got.Spec.Hard); s != "pods=43" {
				t.Errorf("spec.hard = %s, want pods=43", s)
			}
			if s := str(got.Status.Hard); s != tc.wantStatus {
				t.Errorf("status.hard = %s, want %q", s, tc.wantStatus)
			}
			if tc.statusHard != nil && str(got.Status.Used) != "pods=40" {
				t.Errorf("status.used = %s, want pods=40 untouched", str(got.Status.Used))
			}
		})
	}
}

func TestUnclamp(t *testing.T) {
	snap := clampSnapshot
	rq := func(hard corev1.ResourceList, clamped bool) corev1.ResourceQuota {
		r := corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: quota.UnscopedSingletonName,
			Annotations: map[string]string{AnnotationEpoch: "e1"}}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}
		if clamped {
			r.Annotations[AnnotationClampedAt] = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC).Format(time.RFC3339Nano)
		}
		return r
	}
	tests := []struct {
		name     string
		existing corev1.ResourceQuota
		bPods    string
		busy     map[quota.Key]bool
		want     string // the lifted hard; "" when nothing is lifted
	}{
		{"clamp with the tree full stays", rq(list("pods", "43", "requests.cpu", "10"), true), "57", nil, ""},
		{"clamp with less room than it leaves stays", rq(list("pods", "43", "requests.cpu", "10"), true), "58", nil, ""},
		{"clamp refusing what fits is lifted", rq(list("pods", "43", "requests.cpu", "10"), true), "56", nil, "pods=100,requests.cpu=10"},
		{"clamp refusing what fits stays while busy", rq(list("pods", "43", "requests.cpu", "10"), true), "40", map[quota.Key]bool{{Namespace: "a"}: true}, ""},
		{"another scope's reservation does not keep it", rq(list("pods", "43", "requests.cpu", "10"), true), "40", map[quota.Key]bool{{Namespace: "a", Scope: "x"}: true}, "pods=100,requests.cpu=10"},
		{"cpu clamp refusing a milli-cpu that fits is lifted", rq(list("pods", "100", "requests.cpu", "6999m"), true), "40", nil, "pods=100,requests.cpu=10"},
		{"cpu clamp at the room left stays", rq(list("pods", "100", "requests.cpu", "9"), true), "40", nil, ""},
		{"an unclamped singleton is not touched", rq(list("pods", "43"), false), "40", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Unclamp([]corev1.ResourceQuota{tc.existing}, snap(tc.bPods), tc.busy)
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("lifted %s, want nothing lifted", str(got[0].Spec.Hard))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("lifted %d singletons, want 1", len(got))
			}
			if diff := cmp.Diff(tc.want, str(got[0].Spec.Hard)); diff != "" {
				t.Errorf("hard (-want +got):\n%s", diff)
			}
			if _, ok := got[0].Annotations[AnnotationClampedAt]; ok || got[0].Annotations[AnnotationEpoch] != "e1" {
				t.Errorf("annotations %v: want the clamp's gone and the epoch kept", got[0].Annotations)
			}
			if _, ok := tc.existing.Annotations[AnnotationClampedAt]; !ok {
				t.Error("Unclamp modified its input")
			}
		})
	}
}

func TestBusyKeepsAClampOnlyForARetry(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	r := &Reconciler{Now: func() time.Time { return now }}
	a, b := quota.Key{Namespace: "a"}, quota.Key{Namespace: "b"}
	r.remember("r", map[quota.Key]uint64{a: 7, b: 9}, now.Add(-clampBusy))
	r.remember("r", map[quota.Key]uint64{a: 7, b: 10}, now.Add(-clampBusy/2))
	// a has been unsettled at the same base for clampBusy: no retry is in
	// flight there any more. b's reservation is new.
	got := r.busy("r", []quota.Key{a, b})
	if got[a] || !got[b] {
		t.Errorf("busy = %v, want only b", got)
	}
}

func TestClampedTree(t *testing.T) {
	f := testForest()
	r := &Reconciler{Forest: f}
	clamped := func(ns string) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: quota.UnscopedSingletonName,
			Annotations: map[string]string{AnnotationClampedAt: "t"}}}
	}
	if r.clampedTree("b") {
		t.Fatal("a tree without clamps holds one")
	}
	r.noteClamp(clamped("b"), false)
	if !r.clampedTree("a") || r.clampedTree("lone") {
		t.Errorf("clampedTree: want the clamp in b seen from its tree only")
	}
	lifted := clamped("b")
	lifted.Annotations = nil
	r.noteClamp(lifted, false)
	if r.clampedTree("a") {
		t.Error("a lifted clamp is still seen")
	}
	r.noteClamp(clamped("b"), false)
	r.noteClamp(clamped("b"), true)
	if r.clampedTree("a") {
		t.Error("a deleted singleton's clamp is still seen")
	}
}
