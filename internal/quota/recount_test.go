package quota

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodUsage(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	grace := int64(30)
	deadline := int64(60)
	pod := func(name, cpu string, mut func(*corev1.Pod)) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
		if cpu != "" {
			p.Spec.Containers[0].Resources.Requests = rl(t, "cpu="+cpu+",memory=1Gi")
			p.Spec.Containers[0].Resources.Limits = rl(t, "cpu="+cpu)
		}
		if mut != nil {
			mut(&p)
		}
		return p
	}
	pods := []corev1.Pod{
		pod("running", "1", nil),
		pod("best-effort", "", nil),
		pod("done", "2", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
		pod("terminating-in-grace", "1", func(p *corev1.Pod) {
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &metav1.Time{Time: now.Add(-10 * time.Second)}, &grace
		}),
		pod("past-grace", "4", func(p *corev1.Pod) {
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &metav1.Time{Time: now.Add(-time.Minute)}, &grace
		}),
		pod("job", "1", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = &deadline; p.Spec.PriorityClassName = "high" }),
	}
	tests := []struct {
		name  string
		scope *corev1.ScopeSelector
		want  string
	}{
		{name: "unscoped", want: "count/pods=6,cpu=3,limits.cpu=3,memory=3Gi,pods=4,requests.cpu=3,requests.memory=3Gi"},
		{name: "best effort", scope: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpExists}}},
			want: "count/pods=1,pods=1"},
		{name: "terminating and high priority", scope: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: corev1.ResourceQuotaScopeTerminating, Operator: corev1.ScopeSelectorOpExists},
			{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}},
		}}, want: "count/pods=1,cpu=1,limits.cpu=1,memory=1Gi,pods=1,requests.cpu=1,requests.memory=1Gi"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PodUsage(pods, tc.scope, now)
			if !ok {
				t.Fatal("PodUsage could not evaluate the scope")
			}
			if diff := cmp.Diff(tc.want, String(got)); diff != "" {
				t.Errorf("PodUsage (-want +got):\n%s", diff)
			}
		})
	}
	if _, ok := PodUsage(pods, &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{ScopeName: "VolumeAttributesClass", Operator: corev1.ScopeSelectorOpExists}}}, now); ok {
		t.Error("PodUsage evaluated a scope it does not know")
	}
}

// A pod being resized in place reports one size in its spec and another in
// its status: a recount check counts the smaller, a move the larger.
func TestPodUsageOfAResizedPod(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "resized"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c",
		Resources: corev1.ResourceRequirements{Requests: rl(t, "cpu=2,memory=1Gi"), Limits: rl(t, "cpu=2")}}}}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c",
		AllocatedResources: rl(t, "cpu=3,memory=1Gi"),
		Resources:          &corev1.ResourceRequirements{Requests: rl(t, "cpu=3,memory=1Gi"), Limits: rl(t, "cpu=3")}}}
	pods := []corev1.Pod{p}
	low, ok := PodUsage(pods, nil, now)
	if !ok {
		t.Fatal("PodUsage could not evaluate")
	}
	high, ok := PodUsageAtLeast(pods, nil, now)
	if !ok {
		t.Fatal("PodUsageAtLeast could not evaluate")
	}
	if got := low[corev1.ResourceRequestsCPU]; got.Cmp(resourceQ(t, "2")) != 0 {
		t.Errorf("PodUsage requests.cpu = %s, want 2 (the smaller)", got.String())
	}
	if got := high[corev1.ResourceRequestsCPU]; got.Cmp(resourceQ(t, "3")) != 0 {
		t.Errorf("PodUsageAtLeast requests.cpu = %s, want 3 (the larger)", got.String())
	}
	if got := high[corev1.ResourceLimitsCPU]; got.Cmp(resourceQ(t, "3")) != 0 {
		t.Errorf("PodUsageAtLeast limits.cpu = %s, want 3", got.String())
	}
}

func resourceQ(t *testing.T, s string) resource.Quantity {
	t.Helper()
	q, err := resource.ParseQuantity(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestStaleRecount(t *testing.T) {
	tests := []struct {
		name       string
		prev, next string
		live       string
		wantStale  bool
	}{
		{name: "below what exists", prev: "pods=4", next: "pods=2", live: "pods=3", wantStale: true},
		{name: "at what exists", prev: "pods=4", next: "pods=3", live: "pods=3"},
		{name: "above what exists", prev: "pods=4", next: "pods=3", live: "pods=1"},
		{name: "a name not read live is trusted", prev: "requests.storage=4Gi", next: "requests.storage=1Gi", live: ""},
		{name: "only lowered names are judged", prev: "pods=4,services=2", next: "pods=3,services=2", live: "pods=3,services=9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lowered := Lowered(rl(t, tc.prev), rl(t, tc.next))
			if got := StaleRecount(lowered, rl(t, tc.next), rl(t, tc.live)); (got != "") != tc.wantStale {
				t.Errorf("StaleRecount = %q, want stale=%v", got, tc.wantStale)
			}
		})
	}
}

func TestResourceKinds(t *testing.T) {
	for name, want := range map[corev1.ResourceName]bool{
		"pods": true, "cpu": true, "requests.cpu": true, "limits.memory": true, "requests.nvidia.com/gpu": true,
		"hugepages-2Mi": true, "count/pods": true, "requests.storage": false, "gold.storageclass.storage.k8s.io/requests.storage": false,
		"services": false, "count/secrets": false,
	} {
		if got := IsPodResource(name); got != want {
			t.Errorf("IsPodResource(%s) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[corev1.ResourceName]string{"services": "services", "count/widgets.example.com": "widgets.example.com", "count/secrets": "secrets", "pods": "", "count/pods": ""} {
		if got, _ := CountedResource(name); got != want {
			t.Errorf("CountedResource(%s) = %q, want %q", name, got, want)
		}
	}
}

func TestCorrected(t *testing.T) {
	got := Corrected(rl(t, "pods=2,requests.cpu=1,requests.storage=1Gi"), rl(t, "pods=3,requests.cpu=500m"))
	if diff := cmp.Diff("pods=3,requests.cpu=1,requests.storage=1Gi", String(got)); diff != "" {
		t.Errorf("Corrected (-want +got):\n%s", diff)
	}
}
