package scale

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// The pod-admission latency measurement of test/bench/quota, run against
// a manager process: pod creations in a leaf under a hierarchical quota
// that never fills, interleaved with creations in a namespace with a
// plain ResourceQuota, in one with a plain ResourceQuota behind a no-op
// webhook (hooked.go), and in one with no quota, so the four share the
// machine's load. Subtrees: a separate tree of 10, and the whole tree.

const (
	plainNS = "q-plain"
	freeNS  = "q-free"
)

type latency struct{ p50, p99 time.Duration }

// quotaKinds name quotaResult's latencies, in order.
var quotaKinds = [...]string{"hrq", "plain", "hooked", "free"}

// quotaResult holds, per subtree size, pod-create latency under the
// hierarchical quota (zero on the floor, which has none), beside a plain
// ResourceQuota, beside one behind a no-op webhook, and beside no quota.
type quotaResult map[int][len(quotaKinds)]latency

// kube-controller-manager fills the status of every new ResourceQuota,
// and through Canopy's status webhook (a recount); the bench waits for
// all of them before it times anything, so that it measures admission
// in a settled cluster, and records in f how long that took (qsettle) and
// the API server's admission figures (admissionFigures). ready,
// if set, is called then and returns a func the bench calls when done.
func measureQuota(ctx context.Context, cl *cluster, sys system, big tree, samples int, f figures, ready func() func()) (quotaResult, error) {
	small := newTree("q10", 10)
	floor := sys.start == nil
	stopHook, err := startNoopWebhook(ctx, cl, floor)
	if err != nil {
		return nil, err
	}
	defer stopHook()
	if _, err := buildByParent(ctx, cl, small, floor); err != nil {
		return nil, fmt.Errorf("building the 10-namespace tree: %w", err)
	}
	million := corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1000000")}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: plainNS}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: freeNS}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: hookedNS}},
		&corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: plainNS, Name: "plain"}, Spec: corev1.ResourceQuotaSpec{Hard: million}},
		&corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: hookedNS, Name: "plain", Labels: map[string]string{hookedLabel: "true"}},
			Spec: corev1.ResourceQuotaSpec{Hard: million}},
	}
	if !floor {
		for _, t := range []tree{small, big} {
			objs = append(objs, &api.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: t.root, Name: "bench"},
				Spec: api.HierarchicalResourceQuotaSpec{Hard: million}})
		}
	}
	for _, o := range objs {
		if err := cl.c.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	type target struct{ ns, quota string }
	waits := []target{{ns: plainNS, quota: "plain"}, {ns: hookedNS, quota: "plain"}, {ns: freeNS}}
	for _, t := range []tree{small, big} {
		if floor {
			waits = append(waits, target{ns: t.leaf()})
		} else {
			waits = append(waits, target{ns: t.leaf(), quota: sys.singleton})
		}
	}
	for _, w := range waits {
		if err := waitAdmissible(ctx, cl.c, w.ns, w.quota); err != nil {
			return nil, err
		}
	}
	res := quotaResult{}
	settle := time.Now()
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 15*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := unfilledQuotas(ctx, cl.c)
		return err == nil && n == 0, nil
	}); err != nil {
		return nil, fmt.Errorf("waiting for kube-controller-manager to fill every ResourceQuota's status: %w", err)
	}
	f["qsettle"] = time.Since(settle).Seconds()
	if ready != nil {
		defer ready()()
	}
	for _, t := range []tree{small, big} {
		var hrq, plain, hooked, free []time.Duration
		before, berr := scrapeAdmission(ctx, cl)
		for i := range samples {
			name := fmt.Sprintf("p%d-%d", len(t.names), i)
			for _, m := range []struct {
				ns  string
				out *[]time.Duration
			}{{t.leaf(), &hrq}, {plainNS, &plain}, {hookedNS, &hooked}, {freeNS, &free}} {
				if floor && m.ns == t.leaf() {
					continue
				}
				d, err := timeCreate(ctx, cl.c, m.ns, name)
				if err != nil {
					return nil, err
				}
				*m.out = append(*m.out, d)
			}
		}
		res[len(t.names)] = [len(quotaKinds)]latency{percentiles(hrq), percentiles(plain), percentiles(hooked), percentiles(free)}
		after, aerr := scrapeAdmission(ctx, cl)
		if berr != nil || aerr != nil {
			fmt.Printf("%s: no admission figures for the subtree of %d: %v %v\n", sys.name, len(t.names), berr, aerr)
			continue
		}
		admissionFigures(f, len(t.names), len(hrq), before, after)
	}
	return res, nil
}

// waitAdmissible waits until ns's default ServiceAccount exists and, if
// quota is set, that ResourceQuota's status counts pods. It creates the
// ServiceAccount itself if it is missing: kube-controller-manager's
// serviceaccount controller, at its default client rate of 20 requests a
// second, takes minutes to reach a namespace created after 10,000 others.
func waitAdmissible(ctx context.Context, c client.Client, ns, quota string) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}
	if err := c.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the default ServiceAccount of %s: %w", ns, err)
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		if last = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &corev1.ServiceAccount{}); last != nil {
			return false, nil
		}
		if quota == "" {
			return true, nil
		}
		rq := &corev1.ResourceQuota{}
		if last = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: quota}, rq); last != nil {
			return false, nil
		}
		_, ok := rq.Status.Used[corev1.ResourcePods]
		last = fmt.Errorf("status of ResourceQuota %s/%s counts no pods yet", ns, quota)
		return ok, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s to admit pods (%v): %w", ns, last, err)
	}
	return nil
}

func timeCreate(ctx context.Context, c client.Client, ns, name string) (time.Duration, error) {
	no := false
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: &no, Containers: []corev1.Container{{Name: "c", Image: "pause"}}}}
	start := time.Now()
	if err := c.Create(ctx, p); err != nil {
		return 0, fmt.Errorf("creating pod %s/%s: %w", ns, name, err)
	}
	return time.Since(start), nil
}

func percentiles(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[int(p*float64(len(s)-1))] }
	return latency{p50: at(0.50), p99: at(0.99)}
}

// unfilledQuotas counts the ResourceQuotas whose status
// kube-controller-manager has not filled yet.
func unfilledQuotas(ctx context.Context, c client.Client) (int, error) {
	var list corev1.ResourceQuotaList
	if err := c.List(ctx, &list); err != nil {
		return 0, err
	}
	n := 0
	for _, rq := range list.Items {
		if rq.Status.Used == nil {
			n++
		}
	}
	return n, nil
}
