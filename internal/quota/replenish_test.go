package quota

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func departedPod(cpu string, terminating bool, phase corev1.PodPhase) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}},
		Status: corev1.PodStatus{Phase: phase},
	}
	if terminating {
		now := metav1.Now()
		var grace int64
		p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace
	}
	return p
}

func TestReplenished(t *testing.T) {
	bestEffort := &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
		{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpExists}}}
	used := "pods=3,count/pods=3,requests.cpu=3"
	cases := []struct {
		name        string
		used        string
		base        uint64
		scope       *corev1.ScopeSelector
		gone        []Departure
		want        string
		wantChanged bool
	}{{
		name: "deleted while running after the singleton's version: every name lowered",
		used: used, base: 100,
		gone: []Departure{{Pod: departedPod("1", false, corev1.PodRunning), Deleted: 105, Stopped: 105}},
		want: "pods=2,count/pods=2,requests.cpu=2", wantChanged: true,
	}, {
		name: "deleted before the singleton's version: a recount may have left it out",
		used: used, base: 105,
		gone: []Departure{{Pod: departedPod("1", false, corev1.PodRunning), Deleted: 105, Stopped: 105}},
		want: used,
	}, {
		name: "terminating since before the singleton's version: only the object count",
		used: used, base: 100,
		gone: []Departure{{Pod: departedPod("1", true, corev1.PodRunning), Deleted: 110, Stopped: 90}},
		want: "pods=3,count/pods=2,requests.cpu=3", wantChanged: true,
	}, {
		name: "terminating since after the singleton's version: every name",
		used: used, base: 100,
		gone: []Departure{{Pod: departedPod("1", true, corev1.PodRunning), Deleted: 110, Stopped: 101}},
		want: "pods=2,count/pods=2,requests.cpu=2", wantChanged: true,
	}, {
		name: "terminal, and when it became so unknown: only the object count",
		used: used, base: 100,
		gone: []Departure{{Pod: departedPod("1", false, corev1.PodSucceeded), Deleted: 110}},
		want: "pods=3,count/pods=2,requests.cpu=3", wantChanged: true,
	}, {
		name: "two departures, one before the singleton's version",
		used: used, base: 100,
		gone: []Departure{
			{Pod: departedPod("1", false, corev1.PodRunning), Deleted: 99, Stopped: 99},
			{Pod: departedPod("2", false, corev1.PodRunning), Deleted: 101, Stopped: 101},
		},
		want: "pods=2,count/pods=2,requests.cpu=1", wantChanged: true,
	}, {
		name: "never below zero, and names the singleton does not hold stay out",
		used: "pods=1", base: 100,
		gone: []Departure{
			{Pod: departedPod("1", false, corev1.PodRunning), Deleted: 101, Stopped: 101},
			{Pod: departedPod("1", false, corev1.PodRunning), Deleted: 102, Stopped: 102},
		},
		want: "pods=0", wantChanged: true,
	}, {
		name: "a pod outside the singleton's scope is not subtracted",
		used: used, base: 100, scope: bestEffort,
		gone: []Departure{{Pod: departedPod("1", false, corev1.PodRunning), Deleted: 101, Stopped: 101}},
		want: used,
	}, {
		name: "a singleton version that is not a revision lowers nothing",
		used: used, base: 0,
		gone: []Departure{{Pod: departedPod("1", false, corev1.PodRunning), Deleted: 101, Stopped: 101}},
		want: used,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, changed := Replenished(rl(t, c.used), c.base, c.scope, c.gone)
			if changed != c.wantChanged {
				t.Errorf("changed = %v, want %v", changed, c.wantChanged)
			}
			if d := cmp.Diff(rl(t, c.want), got, quantityEqual); d != "" {
				t.Errorf("used (-want +got):\n%s", d)
			}
		})
	}
}

func TestStoppedCounting(t *testing.T) {
	if StoppedCounting(departedPod("1", false, corev1.PodRunning)) {
		t.Error("a running pod counts")
	}
	if !StoppedCounting(departedPod("1", true, corev1.PodRunning)) {
		t.Error("a terminating pod may be left out by a recount")
	}
	if !StoppedCounting(departedPod("1", false, corev1.PodFailed)) {
		t.Error("a failed pod may be left out by a recount")
	}
}

// singletonWrite is a singleton whose status.used is used, with one
// managed-fields entry per manager naming the used names it owns.
func singletonWrite(t *testing.T, used string, owners map[string][]string) *corev1.ResourceQuota {
	t.Helper()
	rq := &corev1.ResourceQuota{Status: corev1.ResourceQuotaStatus{Used: rl(t, used)}}
	for m, names := range owners {
		fields := map[string]any{}
		for _, n := range names {
			fields["f:"+n] = map[string]any{}
		}
		raw, err := json.Marshal(map[string]any{"f:status": map[string]any{"f:used": fields}})
		if err != nil {
			t.Fatal(err)
		}
		rq.ManagedFields = append(rq.ManagedFields, metav1.ManagedFieldsEntry{
			Manager: m, Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status",
			FieldsV1: metav1.NewFieldsV1(string(raw))})
	}
	return rq
}

func TestOnlyAdded(t *testing.T) {
	cases := []struct {
		name   string
		prev   string
		next   string
		owners map[string][]string
		want   bool
	}{{
		name: "the quota admission raised a name",
		prev: "pods=2,requests.cpu=1", next: "pods=3,requests.cpu=1",
		owners: map[string][]string{AdmissionManager: {"pods"}, "kube-controller-manager": {"requests.cpu"}},
		want:   true,
	}, {
		name: "nothing changed",
		prev: "pods=2", next: "pods=2",
		owners: map[string][]string{"kube-controller-manager": {"pods"}},
		want:   true,
	}, {
		name: "a recount raised a name",
		prev: "pods=2", next: "pods=3",
		owners: map[string][]string{"kube-controller-manager": {"pods"}},
	}, {
		name: "the manager raised a name",
		prev: "pods=2", next: "pods=3",
		owners: map[string][]string{"canopy-manager": {"pods"}},
	}, {
		name: "the API server lowered a name",
		prev: "pods=2", next: "pods=1",
		owners: map[string][]string{AdmissionManager: {"pods"}},
	}, {
		name: "a name went away",
		prev: "pods=2,requests.cpu=1", next: "pods=3",
		owners: map[string][]string{AdmissionManager: {"pods"}},
	}, {
		name: "a raised name owned by no one",
		prev: "pods=2", next: "pods=3",
	}, {
		name: "a raised name owned by two managers",
		prev: "pods=2", next: "pods=3",
		owners: map[string][]string{AdmissionManager: {"pods"}, "kube-controller-manager": {"pods"}},
	}, {
		name: "a new name from the admission",
		prev: "", next: "pods=1",
		owners: map[string][]string{AdmissionManager: {"pods"}},
		want:   true,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := OnlyAdded(rl(t, c.prev), singletonWrite(t, c.next, c.owners)); got != c.want {
				t.Errorf("OnlyAdded = %v, want %v", got, c.want)
			}
		})
	}
}
