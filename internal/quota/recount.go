package quota

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Recounts.
//
// kube-controller-manager's resourcequota controller rewrites a singleton's
// status.used from its informer cache, which may not show an object created
// a moment ago. A recount that lowers usage below the truth would let the
// API server admit on top of a count that misses objects, and the tree could
// go over. So a lowering recount is checked against a linearizable live read
// of the objects it counts: it is refused only when it is below what the
// live read shows (the controller retries with a fresher cache), and allowed
// otherwise, at once, however recently anything was admitted.

// podNames are the resource names a pod is charged under, besides the
// requests.<name> and limits.<name> of whatever it requests or limits.
var podNames = []corev1.ResourceName{
	corev1.ResourcePods, corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
}

// objectCountNames are the legacy object-count names and the resource each
// counts.
var objectCountNames = map[corev1.ResourceName]string{
	corev1.ResourceServices:               "services",
	corev1.ResourceConfigMaps:             "configmaps",
	corev1.ResourceSecrets:                "secrets",
	corev1.ResourcePersistentVolumeClaims: "persistentvolumeclaims",
	corev1.ResourceReplicationControllers: "replicationcontrollers",
	corev1.ResourceQuotas:                 "resourcequotas",
}

// IsPodResource reports whether name is charged by pods: pods, the bare and
// requests./limits. compute names, hugepages and extended resources, and
// count/pods.
func IsPodResource(name corev1.ResourceName) bool {
	s := string(name)
	return slices.Contains(podNames, name) || name == "count/pods" ||
		strings.HasPrefix(s, "requests.") && name != "requests.storage" && !strings.Contains(s, ".storageclass.storage.k8s.io/") ||
		strings.HasPrefix(s, "limits.") || strings.HasPrefix(s, corev1.ResourceHugePagesPrefix)
}

// CountedResource returns the API resource ("services", "widgets.example.com")
// whose objects an object-count name counts: count/<resource>[.<group>] or a
// legacy name such as services. ok is false for every other name.
func CountedResource(name corev1.ResourceName) (res string, ok bool) {
	if r, ok := objectCountNames[name]; ok {
		return r, true
	}
	r, ok := strings.CutPrefix(string(name), "count/")
	if !ok || r == "pods" {
		return "", false
	}
	return r, true
}

// PodUsage is the usage kube's pod evaluator charges for pods matching
// scope, at now: count/pods for every pod; for pods not terminal and not past
// their deletion grace, pods, and the requests and limits of every resource
// (the smaller of what the spec and the status report, so that the check
// errs towards allowing a recount, never towards blocking a true one). ok
// is false when the scope uses something this cannot evaluate.
func PodUsage(pods []corev1.Pod, scope *corev1.ScopeSelector, now time.Time) (used corev1.ResourceList, ok bool) {
	return podUsage(pods, scope, now, minList)
}

// PodUsageAtLeast is PodUsage erring the other way: each pod's requests and
// limits are the larger of what its spec and its status report (kube's
// evaluator charges the larger while a pod is resized in place), so that a
// move never counts less than the singletons will once it is stored.
func PodUsageAtLeast(pods []corev1.Pod, scope *corev1.ScopeSelector, now time.Time) (used corev1.ResourceList, ok bool) {
	return podUsage(pods, scope, now, maxList)
}

func podUsage(pods []corev1.Pod, scope *corev1.ScopeSelector, now time.Time, pick func(a, b corev1.ResourceList) corev1.ResourceList) (used corev1.ResourceList, ok bool) {
	used = corev1.ResourceList{}
	for i := range pods {
		p := &pods[i]
		match, ok := podMatches(p, scope)
		if !ok {
			return nil, false
		}
		if !match {
			continue
		}
		addName(used, "count/pods", *resource.NewQuantity(1, resource.DecimalSI))
		if !charged(p, now) {
			continue
		}
		addName(used, corev1.ResourcePods, *resource.NewQuantity(1, resource.DecimalSI))
		req, lim := podResources(p, pick)
		for r, q := range req {
			addName(used, corev1.ResourceName("requests."+string(r)), q)
			if r == corev1.ResourceCPU || r == corev1.ResourceMemory || r == corev1.ResourceEphemeralStorage ||
				strings.HasPrefix(string(r), corev1.ResourceHugePagesPrefix) {
				addName(used, r, q)
			}
		}
		for r, q := range lim {
			addName(used, corev1.ResourceName("limits."+string(r)), q)
		}
	}
	return used, true
}

// podResources picks (minList: the smallest; maxList: the largest) among
// the requests and limits the pod's spec and status give, whatever the API
// server's feature gates.
func podResources(p *corev1.Pod, pick func(a, b corev1.ResourceList) corev1.ResourceList) (req, lim corev1.ResourceList) {
	for i, opts := range []resourcehelper.PodResourcesOptions{
		{UseStatusResources: false, SkipPodLevelResources: false},
		{UseStatusResources: true, SkipPodLevelResources: false},
		{UseStatusResources: false, SkipPodLevelResources: true},
		{UseStatusResources: true, SkipPodLevelResources: true},
	} {
		r, l := resourcehelper.PodRequests(p, opts), resourcehelper.PodLimits(p, opts)
		if i == 0 {
			req, lim = r, l
			continue
		}
		req, lim = pick(req, r), pick(lim, l)
	}
	return req, lim
}

// minList keeps the names in both lists, at the smaller value.
func minList(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for r, q := range a {
		if o, ok := b[r]; ok {
			if o.Cmp(q) < 0 {
				q = o
			}
			out[r] = q.DeepCopy()
		}
	}
	return out
}

// maxList keeps the names in either list, at the larger value.
func maxList(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, l := range []corev1.ResourceList{a, b} {
		for r, q := range l {
			if cur, ok := out[r]; !ok || q.Cmp(cur) > 0 {
				out[r] = q.DeepCopy()
			}
		}
	}
	return out
}

func addName(l corev1.ResourceList, r corev1.ResourceName, q resource.Quantity) {
	cur := l[r]
	cur.Add(q)
	l[r] = cur
}

// charged is kube's QuotaV1Pod: a pod is charged for compute until it is
// terminal or past its deletion grace.
func charged(p *corev1.Pod, now time.Time) bool {
	if terminal(p) {
		return false
	}
	if p.DeletionTimestamp != nil && p.DeletionGracePeriodSeconds != nil {
		end := p.DeletionTimestamp.Add(time.Duration(*p.DeletionGracePeriodSeconds) * time.Second)
		if now.After(end) {
			return false
		}
	}
	return true
}

// terminal reports whether the pod has succeeded or failed.
func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// podMatches evaluates a ResourceQuota scope selector on a pod as kube's
// pod evaluator does; ok is false for a scope it does not know.
func podMatches(p *corev1.Pod, scope *corev1.ScopeSelector) (match, ok bool) {
	if scope == nil {
		return true, true
	}
	for _, req := range scope.MatchExpressions {
		var m bool
		switch req.ScopeName {
		case corev1.ResourceQuotaScopeTerminating:
			m = terminating(p)
		case corev1.ResourceQuotaScopeNotTerminating:
			m = !terminating(p)
		case corev1.ResourceQuotaScopeBestEffort:
			m = bestEffort(p)
		case corev1.ResourceQuotaScopeNotBestEffort:
			m = !bestEffort(p)
		case corev1.ResourceQuotaScopePriorityClass:
			var err error
			if m, err = priorityMatches(p.Spec.PriorityClassName, req); err != nil {
				return false, false
			}
		default:
			return false, false
		}
		if !m {
			return false, true
		}
	}
	return true, true
}

func terminating(p *corev1.Pod) bool {
	return p.Spec.ActiveDeadlineSeconds != nil && *p.Spec.ActiveDeadlineSeconds >= 0
}

// bestEffort is kube's BestEffort QoS class: no container and no pod-level
// resources request or limit cpu or memory.
func bestEffort(p *corev1.Pod) bool {
	lists := []corev1.ResourceRequirements{}
	if p.Spec.Resources != nil {
		lists = append(lists, *p.Spec.Resources)
	}
	for _, c := range p.Spec.InitContainers {
		lists = append(lists, c.Resources)
	}
	for _, c := range p.Spec.Containers {
		lists = append(lists, c.Resources)
	}
	for _, rr := range lists {
		for _, l := range []corev1.ResourceList{rr.Requests, rr.Limits} {
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := l[r]; ok && !q.IsZero() {
					return false
				}
			}
		}
	}
	return true
}

func priorityMatches(class string, req corev1.ScopedResourceSelectorRequirement) (bool, error) {
	if req.Operator == corev1.ScopeSelectorOpExists {
		return class != "", nil
	}
	var op selection.Operator
	switch req.Operator {
	case corev1.ScopeSelectorOpIn:
		op = selection.In
	case corev1.ScopeSelectorOpNotIn:
		op = selection.NotIn
	case corev1.ScopeSelectorOpDoesNotExist:
		op = selection.DoesNotExist
	default:
		return false, fmt.Errorf("unknown scope selector operator %q", req.Operator)
	}
	r, err := labels.NewRequirement(string(corev1.ResourceQuotaScopePriorityClass), op, req.Values)
	if err != nil {
		return false, err
	}
	set := labels.Set{}
	if class != "" {
		set[string(corev1.ResourceQuotaScopePriorityClass)] = class
	}
	return r.Matches(set), nil
}

// Lowered lists the names whose value in next is below prev, sorted.
func Lowered(prev, next corev1.ResourceList) []corev1.ResourceName {
	var out []corev1.ResourceName
	for r, p := range prev {
		if n := next[r]; n.Cmp(p) < 0 {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// StaleRecount returns why a recount to next must wait, or "" if it may be
// recorded: it must wait when some name it lowers is below the live count.
// live holds the live count of every name that could be verified; a name it
// does not hold is not judged.
func StaleRecount(lowered []corev1.ResourceName, next, live corev1.ResourceList) string {
	for _, r := range lowered {
		truth, ok := live[r]
		if !ok {
			continue
		}
		if got := next[r]; got.Cmp(truth) < 0 {
			return fmt.Sprintf("recounted %s=%s is below the %s that exist; the count is stale, retry", r, got.String(), truth.String())
		}
	}
	return ""
}

// Corrected is a refused stale recount made right: recounted, with every
// name that live holds raised to the live count. It is never below the
// live count of a name read live, nor below the recount for the others.
func Corrected(recounted, live corev1.ResourceList) corev1.ResourceList {
	out := recounted.DeepCopy()
	for r, q := range live {
		if cur, ok := out[r]; ok && cur.Cmp(q) < 0 {
			out[r] = q.DeepCopy()
		}
	}
	return out
}
