package quota

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/metrics"
	"github.com/canopyhq/canopy/internal/quota"
)

// The leader watches pods to see them go (see quota.Replenished).
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch

// DefaultReplenishDelay is how long after a pod goes the leader looks at
// its namespace's singletons: kube-controller-manager's recount, when it
// does not miss, lands well within it, and then nothing is written.
const DefaultReplenishDelay = 100 * time.Millisecond

// ReleaseManager is the field manager of the leader's releases: the status
// webhook judges them at once, without waiting for charged creations to be
// stored, since a release subtracts departed pods from the usage it read
// and so keeps every charge in it.
const ReleaseManager = "canopy-quota-release"

// replenishAttempts bounds the retries of one namespace after conflicts
// (the cached singleton was older than the one stored).
const replenishAttempts = 10

// retryPause is how long a failed List or Watch waits before the next.
const retryPause = time.Second

// PodWatcher starts a watch of every pod at resourceVersion rv, or, with rv
// empty, returns the current resourceVersion of the pod list to start one
// from (see Replenisher.Start).
type PodWatcher interface {
	ListRV(ctx context.Context) (string, error)
	Watch(ctx context.Context, rv string) (watch.Interface, error)
}

// Replenisher lowers the singletons that still charge pods which have gone,
// when kube-controller-manager's recount missed them (quota.Replenished has
// the why and the rule). It watches pods on every replica, and on the
// leader, a short while after a pod goes from a namespace with singletons,
// writes each singleton of that namespace that still charges it, with the
// singleton's resourceVersion as precondition. Every replica releases at
// once at an admission (ReleaseNow). The write is a recount, judged by the
// status webhook like kube-controller-manager's: refused below what a live
// read shows exists.
type Replenisher struct {
	// Client reads singletons from the manager's cache and writes them.
	Client client.Client
	Pods   PodWatcher
	// Singletons, when set, lets the replenisher follow every write of the
	// singletons (see history), and lower one that admissions wrote after
	// a pod went. Without it, only a singleton older than the pod's going
	// is lowered.
	Singletons SingletonWatcher
	// Delay defaults to DefaultReplenishDelay.
	Delay time.Duration
	// Elected is closed when this replica leads (the manager's Elected);
	// until then the delayed look writes nothing, and only forgets the
	// departures no singleton charges any more. Nil means leading.
	Elected <-chan struct{}

	mu sync.Mutex
	// stopped holds, for pods in namespaces with singletons, the
	// resourceVersion at which each was first seen terminal or
	// terminating.
	stopped map[types.UID]uint64
	// pending holds each namespace's departures not yet looked at.
	pending map[string][]quota.Departure
	// deferred holds when the delayed look at each namespace was first
	// put off (deferral).
	deferred map[string]time.Time
	queue    workqueue.TypedRateLimitingInterface[string]
	history  history
	// looking serialises looks at namespaces: the worker's, after Delay,
	// and ReleaseNow's, for the status webhook.
	looking sync.Mutex
}

// NeedLeaderElection is false: every replica watches pods, so that each
// can release at an admission, and a new leader knows the pods that went
// before it was elected. The delayed look waits for Elected.
func (r *Replenisher) NeedLeaderElection() bool { return false }

// leading reports whether this replica leads.
func (r *Replenisher) leading() bool {
	if r.Elected == nil {
		return true
	}
	select {
	case <-r.Elected:
		return true
	default:
		return false
	}
}

// Start watches pods until ctx ends, starting again from where it left off
// when the watch closes, and from the current list when that is too old.
// Departures during a gap are not seen; they are left to
// kube-controller-manager's resync.
func (r *Replenisher) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("quota-replenisher")
	r.stopped = map[types.UID]uint64{}
	r.pending = map[string][]quota.Departure{}
	r.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, time.Second),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "quota-replenisher"})
	go func() { <-ctx.Done(); r.queue.ShutDown() }()
	if r.Singletons != nil {
		go r.history.follow(ctx, r.Singletons)
	}
	go r.work(ctx)
	rv := ""
	for ctx.Err() == nil {
		if rv == "" {
			var err error
			if rv, err = r.Pods.ListRV(ctx); err != nil {
				log.V(1).Info("Listing pods to watch them", "reason", err.Error())
				sleep(ctx, retryPause)
				continue
			}
		}
		w, err := r.Pods.Watch(ctx, rv)
		if err != nil {
			log.V(1).Info("Watching pods", "reason", err.Error())
			rv = ""
			sleep(ctx, retryPause)
			continue
		}
		rv = r.drain(ctx, w, rv)
	}
	return nil
}

// drain handles w's events until it closes and returns the resourceVersion
// to watch from next ("" to list again).
func (r *Replenisher) drain(ctx context.Context, w watch.Interface, rv string) string {
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			if apierrors.IsResourceExpired(apierrors.FromObject(ev.Object)) || apierrors.IsGone(apierrors.FromObject(ev.Object)) {
				return ""
			}
			return rv
		}
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			continue
		}
		rv = p.ResourceVersion
		if ev.Type != watch.Bookmark {
			r.observe(ctx, ev.Type, p)
		}
	}
	return rv
}

// observe records what one pod event means for quota.
func (r *Replenisher) observe(ctx context.Context, t watch.EventType, p *corev1.Pod) {
	at := quota.ParseRV(p.ResourceVersion)
	r.mu.Lock()
	since, seen := r.stopped[p.UID]
	r.mu.Unlock()
	switch t {
	case watch.Added, watch.Modified:
		if seen || !quota.StoppedCounting(p) || !r.charged(ctx, p.Namespace) {
			return
		}
		r.mu.Lock()
		r.stopped[p.UID] = at
		r.mu.Unlock()
	case watch.Deleted:
		r.mu.Lock()
		delete(r.stopped, p.UID)
		r.mu.Unlock()
		if !r.charged(ctx, p.Namespace) {
			return
		}
		d := quota.Departure{Pod: p, Deleted: at}
		switch {
		case !quota.StoppedCounting(p):
			d.Stopped = at
		case seen:
			d.Stopped = since
		}
		r.mu.Lock()
		r.pending[p.Namespace] = append(r.pending[p.Namespace], d)
		r.mu.Unlock()
		delay := r.Delay
		if delay <= 0 {
			delay = DefaultReplenishDelay
		}
		r.queue.AddAfter(p.Namespace, delay)
	}
}

// charged reports whether ns has singletons.
func (r *Replenisher) charged(ctx context.Context, ns string) bool {
	var list corev1.ResourceQuotaList
	err := r.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{LabelSingleton: "true"}, client.Limit(1))
	return err == nil && len(list.Items) > 0
}

func (r *Replenisher) work(ctx context.Context) {
	log := ctrl.LoggerFrom(ctx).WithName("quota-replenisher")
	for {
		ns, shutdown := r.queue.Get()
		if shutdown {
			return
		}
		leading := r.leading()
		if leading {
			if wait := r.deferral(ns, time.Now()); wait > 0 {
				r.queue.AddAfter(ns, wait)
				r.queue.Done(ns)
				continue
			}
		}
		_, err := r.replenish(ctx, ns, look{write: leading})
		switch {
		case err == nil:
			r.queue.Forget(ns)
		case lookAgain(err) && r.queue.NumRequeues(ns) < replenishAttempts:
			if IsConflict(err) {
				metrics.Conflict("quota-replenisher", "resourcequotas")
			}
			r.queue.AddRateLimited(ns)
		default:
			log.V(1).Info("Not lowering quota singletons for pods that went", "namespace", ns, "reason", err.Error())
			r.queue.Forget(ns)
			r.drop(ns, -1)
		}
		r.queue.Done(ns)
	}
}

// errStillCharged is a look that writes nothing finding a singleton that
// still charges a departure: it is kept for another look.
var errStillCharged = errors.New("a quota singleton still charges pods that went; the leader lowers it")

// lookAgain reports whether a look that failed with err keeps its
// departures for another: the singleton moved on (a conflict), the history
// is not at the version looked at, or a look that writes nothing found one
// still charged.
func lookAgain(err error) bool {
	return IsConflict(err) || errors.Is(err, errHistoryBehind) || errors.Is(err, errStillCharged)
}

// look is how replenish looks at a namespace.
type look struct {
	// mark is the singleton mark to leave (ReleaseNow).
	mark *ReleaseMark
	// at, if set, is the singleton version an admission is judged
	// against, written in place of the cached copy (ReleaseNow).
	at *corev1.ResourceQuota
	// write is false on a replica that does not lead, outside admissions.
	write bool
}

// replenish lowers each singleton of ns that still charges its pending
// departures, and returns how many it lowered. On success the departures
// it looked at are dropped; on a conflict they are kept for the retry,
// which reads the newer singleton.
func (r *Replenisher) replenish(ctx context.Context, ns string, l look) (int, error) {
	r.looking.Lock()
	defer r.looking.Unlock()
	r.mu.Lock()
	gone := append([]quota.Departure(nil), r.pending[ns]...)
	r.mu.Unlock()
	if len(gone) == 0 {
		return 0, nil
	}
	var list corev1.ResourceQuotaList
	if err := r.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{LabelSingleton: "true"}); err != nil {
		return 0, err
	}
	lowered := 0
	var errs []error
	for i := range list.Items {
		rq := r.admitted(&list.Items[i], l.at)
		// Behind, the history leaves the singleton's own version, which may
		// be enough; if not, another look follows.
		base, behind := r.history.base(client.ObjectKeyFromObject(rq), quota.ParseRV(rq.ResourceVersion))
		used, changed := quota.Replenished(rq.Status.Used, base, rq.Spec.ScopeSelector, gone)
		if behind != nil && !changed {
			errs = append(errs, behind)
			continue
		}
		if !changed {
			continue
		}
		if !l.write {
			errs = append(errs, errStillCharged)
			continue
		}
		next := rq.DeepCopy()
		next.Status.Used = used
		MarkRelease(next, used, l.mark, time.Now())
		if err := r.Client.Status().Update(ctx, next, client.FieldOwner(ReleaseManager)); err != nil {
			errs = append(errs, err)
			continue
		}
		lowered++
		metrics.Replenished()
		ctrl.LoggerFrom(ctx).V(1).Info("Lowered a quota singleton for pods that went", "namespace", ns, "resourcequota", rq.Name, "used", quota.String(used))
	}
	for _, err := range errs {
		if lookAgain(err) {
			// Retried with the departures kept: the newer singleton decides.
			return lowered, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return lowered, err
	}
	r.drop(ns, len(gone))
	return lowered, nil
}

// admitted returns the singleton to lower: cached, or at when at is that
// singleton at a later version that the history has not passed (a later
// write makes the admission at at conflict, and the cached copy decides).
func (r *Replenisher) admitted(cached, at *corev1.ResourceQuota) *corev1.ResourceQuota {
	if at == nil || at.Namespace != cached.Namespace || at.Name != cached.Name {
		return cached
	}
	rv := quota.ParseRV(at.ResourceVersion)
	if rv <= quota.ParseRV(cached.ResourceVersion) || r.history.passed(client.ObjectKeyFromObject(at), rv) {
		return cached
	}
	return at.DeepCopy()
}

// drop forgets the first n of ns's pending departures (all with n < 0).
func (r *Replenisher) drop(ns string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n < 0 || n >= len(r.pending[ns]) {
		delete(r.pending, ns)
		return
	}
	r.pending[ns] = r.pending[ns][n:]
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// ListWatchPods is the PodWatcher of a typed client.
type ListWatchPods struct {
	Lister interface {
		List(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error)
		Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	}
}

// ListRV lists one pod, for the list's resourceVersion.
func (l ListWatchPods) ListRV(ctx context.Context) (string, error) {
	list, err := l.Lister.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return "", err
	}
	return list.ResourceVersion, nil
}

// Watch watches every pod from rv, with bookmarks.
func (l ListWatchPods) Watch(ctx context.Context, rv string) (watch.Interface, error) {
	return l.Lister.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
}
