package quota

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/quota"
)

// The snapshot patched from the feed's changes, event by event, decides
// as one built from scratch on the same singletons does: random adds,
// status updates, scoped singletons, deletes (some as the informer's
// DeletedFinalStateUnknown), a label taken away, namespaces outside the
// tree, and a log short enough to be outrun.
func TestSnapshotFedMatchesARebuild(t *testing.T) {
	v := TreeView{Root: "r", Namespaces: []string{"a", "b", "c", "r"}, Tree: quota.Tree{"r": "", "a": "r", "b": "r", "c": "a"}}
	tq := TreeQuotas{HRQs: []hncv1.HierarchicalResourceQuota{{ObjectMeta: metav1.ObjectMeta{Namespace: "r", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=100")}}}}
	spaces := []string{"a", "b", "c", "r", "elsewhere"}
	rng := rand.New(rand.NewPCG(1, 2))
	feed := SingletonFeed{LogMax: 16}
	outrun := 0
	h := feed.Handler()
	feed.SetSynced(func() bool { return true })
	// live is what the informer holds: namespace, then name.
	live := map[string]map[string]*corev1.ResourceQuota{}
	rv := 0
	var c SnapshotCache
	for step := range 3000 {
		ns := spaces[rng.IntN(len(spaces))]
		name := []string{"hrq.hnc.x-k8s.io", "scoped"}[rng.IntN(2)]
		old := live[ns][name]
		switch op := rng.IntN(10); {
		case op < 6:
			rv++
			rq := singleton(ns, "", rl(t, "pods=10"))
			rq.Name, rq.ResourceVersion = name, strconv.Itoa(rv)
			if name == "scoped" {
				rq.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
					{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}}}}
			}
			if rng.IntN(8) > 0 {
				rq.Status.Used = rl(t, fmt.Sprintf("pods=%d", rng.IntN(20)))
			}
			if rng.IntN(20) == 0 {
				rq.Labels = nil // no longer a singleton
			}
			if live[ns] == nil {
				live[ns] = map[string]*corev1.ResourceQuota{}
			}
			if old == nil {
				h.OnAdd(&rq, false)
			} else {
				h.OnUpdate(old, &rq)
			}
			live[ns][name] = &rq
		case old != nil && op < 8:
			h.OnDelete(old)
			delete(live[ns], name)
		case old != nil:
			h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: ns + "/" + name, Obj: old})
			delete(live[ns], name)
		}
		if rng.IntN(12) > 0 {
			continue
		}
		listed := map[string][]corev1.ResourceQuota{}
		for _, ns := range v.Namespaces {
			for _, rq := range live[ns] {
				if IsSingleton(rq.Labels) {
					listed[ns] = append(listed[ns], *rq)
				}
			}
		}
		if cur := c.byRoot[v.Root]; cur != nil && cur.seq < feed.base {
			outrun++
		}
		got, gotVS := c.SnapshotFed(v, tq, &feed)
		want := quota.NewSnapshot(v.Tree, tq.Engine(), ActualUsage(listed))
		for _, ns := range v.Namespaces {
			for _, scope := range scopesOf(listed) {
				if g, w := quota.SubtreeUsage(got, ns, scope), quota.SubtreeUsage(want, ns, scope); !quota.Equal(g, w) {
					t.Fatalf("step %d: subtree usage of %s (scope %q) = %q, want %q", step, ns, scope, quota.String(g), quota.String(w))
				}
			}
		}
		if diff := cmp.Diff(ObservedVersions(listed), gotVS); diff != "" {
			t.Fatalf("step %d: versions (-want +got):\n%s", step, diff)
		}
	}
	if outrun == 0 {
		t.Fatalf("the feed's log was never outrun (%d changes): the rebuild after it went untested", feed.seq)
	}
}

func scopesOf(singletons map[string][]corev1.ResourceQuota) []string {
	out := []string{""}
	for _, rqs := range singletons {
		for _, rq := range rqs {
			if k := quota.ScopeKey(rq.Spec.ScopeSelector); !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// Until its handler has seen every object the informer listed, the feed
// is not used.
func TestSingletonFeedSynced(t *testing.T) {
	var nilFeed *SingletonFeed
	if nilFeed.Synced() {
		t.Errorf("a nil feed reports synced")
	}
	var f SingletonFeed
	if f.Synced() {
		t.Errorf("a feed with no informer reports synced")
	}
	done := false
	f.SetSynced(func() bool { return done })
	if f.Synced() {
		t.Errorf("the feed reports synced before its handler has")
	}
	done = true
	if !f.Synced() {
		t.Errorf("the feed does not report synced after its handler has")
	}
}

func TestSingletonFeedClamped(t *testing.T) {
	var f SingletonFeed
	h := f.Handler()
	rq := func(ns string, clamped bool) *corev1.ResourceQuota {
		r := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: quota.UnscopedSingletonName,
			Labels: map[string]string{LabelSingleton: "true"}}}
		if clamped {
			r.Annotations = map[string]string{AnnotationClampedAt: "t"}
		}
		return r
	}
	in := func(names ...string) func(string) bool {
		return func(ns string) bool { return slices.Contains(names, ns) }
	}
	namespaces := func(rqs []corev1.ResourceQuota) []string {
		var out []string
		for _, r := range rqs {
			out = append(out, r.Namespace)
		}
		slices.Sort(out)
		return out
	}
	h.OnAdd(rq("a", true), false)
	h.OnAdd(rq("b", false), false)
	h.OnAdd(rq("c", true), false)
	if got := namespaces(f.Clamped(in("a", "b"))); !slices.Equal(got, []string{"a"}) {
		t.Errorf("clamped in a, b = %v, want [a]", got)
	}
	h.OnUpdate(rq("a", true), rq("a", false))
	h.OnUpdate(rq("b", false), rq("b", true))
	if got := namespaces(f.Clamped(in("a", "b", "c"))); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("after a's lift and b's clamp: %v, want [b c]", got)
	}
	h.OnDelete(rq("c", true))
	if got := namespaces(f.Clamped(in("a", "b", "c"))); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after c's deletion: %v, want [b]", got)
	}
	var nilFeed *SingletonFeed
	if nilFeed.Clamped(in("a")) != nil {
		t.Error("a nil feed has clamps")
	}
}

// Charged gives the time of the last growth the feed saw in a namespace
// (not of writes that lower or keep usage) and the version at which it
// holds a singleton.
func TestSingletonFeedCharged(t *testing.T) {
	now := time.Unix(1000, 0)
	feed := SingletonFeed{Now: func() time.Time { return now }}
	h := feed.Handler()
	at := func(rv int, used string) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: quota.UnscopedSingletonName,
			Labels: map[string]string{LabelSingleton: "true"}, ResourceVersion: strconv.Itoa(rv)},
			Status: corev1.ResourceQuotaStatus{Used: rl(t, used)}}
	}
	check := func(what string, wantGrew time.Time, wantAt uint64) {
		t.Helper()
		if grew, rv := feed.Charged("a", quota.UnscopedSingletonName); !grew.Equal(wantGrew) || rv != wantAt {
			t.Errorf("%s: Charged = %v, %d, want %v, %d", what, grew, rv, wantGrew, wantAt)
		}
	}
	check("empty feed", time.Time{}, 0)
	h.OnAdd(at(5, "pods=0"), true)
	check("singleton without usage", time.Time{}, 5)
	h.OnUpdate(at(5, "pods=0"), at(6, "pods=2"))
	charged := now
	now = now.Add(time.Second)
	h.OnUpdate(at(6, "pods=2"), at(7, "pods=1"))
	h.OnUpdate(at(7, "pods=1"), at(8, "pods=1"))
	check("after a charge, a release and a rewrite", charged, 8)
	h.OnDelete(at(8, "pods=1"))
	check("after the singleton went", time.Time{}, 0)
}
