package quota

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apiserver/pkg/authentication/user"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/metrics"
	"github.com/canopyhq/canopy/internal/quota"
)

// StatusPath is where the singleton status webhook is served.
const StatusPath = "/validate-quota-singleton-status"

// reserveTimeout bounds one admission's reservation.
const reserveTimeout = 8 * time.Second

// msgNotSingleton allows a ResourceQuota that is not Canopy's.
const msgNotSingleton = "not a quota singleton"

// DefaultMaxAttempts bounds the compare-and-swap retries of one admission.
const DefaultMaxAttempts = 20

// Fails closed (see the package doc for the blast radius): an unavailable
// webhook must not let a tree's usage grow unchecked. It writes the ledger,
// hence sideEffects=NoneOnDryRun (dry runs decide without reserving).
// +kubebuilder:webhook:path=/validate-quota-singleton-status,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups="",resources=resourcequotas/status,verbs=update,versions=v1,name=singleton-status.quota.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=10,patch=`{"objectSelector":{"matchLabels":{"canopy.dev/quota-singleton":"true"}},"namespaceSelector":{"matchLabels":{"canopy.dev/in-tree":"true"}}}`

// StatusHandler admits growth of a singleton's status.used against every
// quota of the tree, reserving it in the tree's ledger.
type StatusHandler struct {
	Forest *forest.Forest
	// Cache reads quotas and singletons.
	Cache client.Reader
	// Live reads straight from the API server: singletons when a decision
	// on the cache would deny (the cache may not show a deletion yet), and
	// the objects a recount counts.
	Live client.Reader
	// Snapshots, if set, keeps each tree's last snapshot for reuse by
	// decisions on the caches.
	Snapshots *ctrlquota.SnapshotCache
	// Feed, if set and synced, gives the cached singletons (in place of a
	// List of the cache) for decisions on the caches.
	Feed *ctrlquota.SingletonFeed
	// Trees, if set, keeps each tree's copy while the forest's structure
	// does not change.
	Trees *ctrlquota.TreeCache
	// Mapper resolves the resource an object-count name counts.
	Mapper  meta.RESTMapper
	Ledgers ctrlquota.LedgerStore
	// Loaded reports whether the forest has loaded; nil means it has.
	Loaded      func() bool
	Decoder     admission.Decoder
	MaxAttempts int
	Now         func() time.Time
	// Admissions records the admissions judged here, so that a correction
	// of a stale recount waits until its namespace is quiet.
	Admissions *ctrlquota.Admissions
	// Quiet defaults to ctrlquota.DefaultQuiet.
	Quiet time.Duration
	// StoreSettle defaults to StoreSettle (awaitStored).
	StoreSettle time.Duration

	// trees serialises this replica's ledger writes per tree (treeLocks).
	trees treeLocks
	// Denials, if set, shares the batches denied with the other replicas
	// (see deniedBatches).
	Denials *ctrlquota.DenialStore
	// Covers, if set, keeps the covers the grant check builds (covers.go).
	Covers *Covers
	// Releases, if set, releases at once what pods that went are still
	// charged, before an admission in their namespace and before a denial
	// in their tree (see ctrlquota.Replenisher.ReleaseNow).
	Releases Releaser

	// denied tells a batch's retries from its first attempt (see
	// deniedBatches): only the first is clamped.
	denied deniedBatches
}

// IsAdmission reports whether a status update is the API server's quota
// admission recording new usage, the only writer this webhook judges. The
// quota controller in kube-controller-manager also writes status.used, but
// it records usage that already exists (after deletions, or for a singleton
// just created): refusing it would only hide real usage.
func IsAdmission(username string) bool {
	return username == user.APIServerUser
}

// Handle decides one status update.
func (h *StatusHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	next, prev := &corev1.ResourceQuota{}, &corev1.ResourceQuota{}
	if err := h.Decoder.DecodeRaw(req.Object, next); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if err := h.Decoder.DecodeRaw(req.OldObject, prev); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	switch {
	case !ctrlquota.IsSingleton(next.Labels):
		return admission.Allowed(msgNotSingleton)
	case !IsAdmission(req.UserInfo.Username):
		return h.recount(ctx, req, prev, next)
	}
	// The API server may retry the moment it has the answer: the
	// namespace is busy until then (see ctrlquota.Admissions).
	defer h.Admissions.Begin(next.Namespace)()
	switch {
	case !quota.Grows(prev.Status.Used, next.Status.Used):
		return admission.Allowed("usage does not grow")
	case h.Loaded != nil && !h.Loaded():
		return admission.Denied("Canopy is starting: the namespace hierarchy has not finished loading; retry in a few seconds")
	}
	dryRun := req.DryRun != nil && *req.DryRun
	// A batch's retry after a release that charges creations the API
	// server refused (release.go) is denied even within a grant.
	var excess corev1.ResourceList
	if !dryRun {
		excess = h.releasedRetryExcess(prev, next)
	}
	if excess == nil && h.withinGrant(ctx, prev, next) {
		metrics.Escrow(metrics.EscrowWithin)
		return admission.Allowed(msgWithinGrant)
	}
	// Finish a reservation once started even if this replica is shutting
	// down (the webhook server cancels its handlers' contexts then): the
	// API server is waiting, and another replica cannot take over this
	// request. The bound stays below the webhook's 10 s timeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reserveTimeout)
	defer cancel()
	// See "Releasing under a batch that refused" (release.go).
	if excess != nil {
		h.clampToFirstAttempt(ctx, prev, excess)
		return admission.Denied(msgReleasedRetry)
	}
	if !dryRun && h.releasedHere(ctx, prev, next) {
		return admission.Denied(msgReleased)
	}
	if err := h.reserve(ctx, prev, next, dryRun); err != nil {
		var exceeded *quota.ExceededError
		if errors.As(err, &exceeded) {
			if !dryRun && h.releasedInTree(ctx, prev, next) {
				// The attempt was judged before the release.
				return admission.Denied(exceeded.Error())
			}
			if !dryRun && ctrlquota.IsBatch(prev.Status.Used, next.Status.Used) && h.denied.first(ctx, h.Denials, prev, next) {
				h.clamp(ctx, prev, exceeded)
			}
			return admission.Denied(exceeded.Error())
		}
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.Allowed("")
}

// reserve runs the ledger protocol (see internal/quota's package doc): in a
// compare-and-swap loop on the tree's ledger, decide the reservation made at
// the old object's resourceVersion with quota.Admit and record it.
//
// The first attempt decides on caches: the ledger from the ledger informer,
// the singletons from the manager's. A stale cached ledger only makes the
// write conflict. A denial is never given on caches alone, which may not
// show a committed decrease or a newer, lower reservation yet. It is
// decided again with the ledger read live: it stands on the cached
// singletons when they show every lowering the ledger marks
// (quota.SeenLowered) and the request does not fit even with every
// reservation they do not show settled left out, counting only what they
// show committed. Otherwise it is decided on the ledger and singletons
// read live.
func (h *StatusHandler) reserve(ctx context.Context, prev, rq *corev1.ResourceQuota, dryRun bool) error {
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", rq.Namespace)
	r := quota.Reservation{Namespace: rq.Namespace, Scope: quota.ScopeKey(rq.Spec.ScopeSelector),
		Base: quota.ParseRV(prev.ResourceVersion), Old: prev.Status.Used, New: rq.Status.Used,
		Epoch: prev.Annotations[ctrlquota.AnnotationEpoch]}
	revocations := 0
	return h.casLedger(ctx, rq.Namespace, func(v ctrlquota.TreeView, l *quota.Ledger, at reads) (*quota.Ledger, error) {
		// The tree and its quotas are copied under the forest's lock
		// (TreeOf); the decision below runs on that immutable snapshot.
		snap, vs, quotas, err := h.snapshot(ctx, v, at == liveReads)
		if err != nil {
			return nil, err
		}
		// Moves judged into the tree that this replica's forest does not
		// show yet count (quota.Hold).
		snap = quota.WithHolds(l, snap, ctrlquota.HierarchyVersionOf(h.Forest))
		r.Cover = quota.Cover(v.Tree, quotas, r.Namespace, r.Scope)
		next, err := quota.Admit(l, snap, vs, r)
		var exceeded *quota.ExceededError
		if errors.As(err, &exceeded) {
			switch {
			case at == cachedReads:
				return nil, errConfirm
			case at == liveLedger && !refusedOnCommitted(l, snap, vs, r):
				return nil, errRetryLive
			case at == liveReads && dryRun:
				// A dry run writes nothing, so it revokes nothing: it is
				// allowed if it would be once the grants were revoked.
				if fitsWithoutGrants(l, snap, vs, r) {
					return nil, nil
				}
			case at == liveReads:
				// Another namespace's unused grant may be what denies.
				if rerr := revocable(l, snap, vs, quota.Key{Namespace: r.Namespace, Scope: r.Scope}, revocations); rerr != nil {
					revocations++
					return nil, rerr
				}
			}
		}
		if err != nil {
			log.V(1).Info("Denied quota growth", "reason", err.Error())
			return nil, err
		}
		if dryRun {
			return nil, nil
		}
		return next, nil
	})
}

// refusedOnCommitted reports whether a refusal decided on a live ledger and
// an informer's singletons holds: the informer shows every lowering the
// ledger marks, and r does not fit even on the usage the informer shows
// committed, with every reservation left out (any it does not show settled
// may have died, and any it shows settled it counts already).
func refusedOnCommitted(l *quota.Ledger, snap *quota.Snapshot, vs quota.Versions, r quota.Reservation) bool {
	if !quota.SeenLowered(l, vs) {
		return false
	}
	_, err := quota.Admit(&quota.Ledger{Root: l.Root, Entries: map[quota.Key]quota.Entry{}}, snap, vs, r)
	var exceeded *quota.ExceededError
	return errors.As(err, &exceeded)
}

// reads says where a decision reads the ledger and the singletons from.
type reads int

const (
	// cachedReads reads both from the informers.
	cachedReads reads = iota
	// liveLedger reads the ledger live and the singletons from the
	// informer, to confirm a refusal (reserve).
	liveLedger
	// liveReads reads both live.
	liveReads
)

// errConfirm asks casLedger to decide again with the ledger read live;
// errRetryLive with everything read live.
var (
	errConfirm   = errors.New("decide again on the ledger read live")
	errRetryLive = errors.New("decide again on live reads")
)

// casLedger runs the compare-and-swap loop on the ledger of ns's tree:
// read, let fn decide the ledger to write (nil for none), write with the
// read resourceVersion as precondition; on a conflict start again. The
// first read may come from the ledger informer (cachedReads); fn asks for
// the ledger read live with errConfirm, and for every read live with
// errRetryLive, as after a conflict.
//
// This is the one place a Canopy webhook writes to the API. The write is what
// makes the decision hold across replicas: every replica's reservation goes
// through one object per tree, so the compare-and-swap serialises them.
//
// Within one replica, a decision that writes is taken again, and written,
// under the tree's lock (treeLocks), starting from the newest of the cached
// ledger and the one this replica last wrote: this replica's concurrent
// reservations then queue instead of conflicting with each other. Unlocked,
// under a burst each conflict cost a live re-read and another attempt, and
// some reservations used up their attempts while the API server's quota
// admission, whose five workers serve every namespace of the cluster,
// waited on them. Decisions that write nothing (denials, dry runs) take no
// lock.
func (h *StatusHandler) casLedger(ctx context.Context, ns string, fn func(v ctrlquota.TreeView, l *quota.Ledger, at reads) (*quota.Ledger, error)) error {
	attempts := h.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	var held *heldTree
	defer func() {
		if held != nil {
			held.unlock()
		}
	}()
	at := cachedReads
	var last error
	for range attempts {
		v := h.Trees.TreeOf(h.Forest, ns)
		var stored ctrlquota.StoredLedger
		var err error
		if at >= liveLedger || h.Ledgers.Cache == nil {
			stored, err = h.Ledgers.Get(ctx, v.Root)
		} else {
			stored, err = h.Ledgers.GetCached(ctx, v.Root)
		}
		if err != nil {
			return err
		}
		if held != nil && held.root == v.Root && held.written != nil && held.written.Version() > stored.Version() {
			stored = *held.written
		}
		next, err := fn(v, stored.Ledger, at)
		if keys, ok := asRevoke(err); ok {
			// Under the tree's lock, like every ledger write of this
			// replica, so that its reservations do not conflict with it.
			if held == nil {
				if held, err = h.trees.lock(ctx, v.Root); err != nil {
					return fmt.Errorf("reserving quota usage in namespace %q: waiting for the tree's other reservations: %w", ns, err)
				}
			}
			written, err := h.revoke(ctx, v.Root, keys)
			if err != nil {
				return fmt.Errorf("reserving quota usage in namespace %q: %w", ns, err)
			}
			if written != nil && held.root == v.Root {
				held.written = written
			}
			at = liveReads
			continue
		}
		switch {
		case errors.Is(err, errConfirm):
			at = max(at, liveLedger)
			continue
		case errors.Is(err, errRetryLive):
			at = liveReads
			continue
		}
		if err != nil || next == nil {
			return err
		}
		if held == nil {
			if held, err = h.trees.lock(ctx, v.Root); err != nil {
				return fmt.Errorf("reserving quota usage in namespace %q: waiting for the tree's other reservations: %w", ns, err)
			}
			// Decide again: a reservation this replica wrote while this
			// one waited must count.
			continue
		}
		written, err := h.Ledgers.PutStored(ctx, stored, next)
		if err == nil {
			if held.root == v.Root {
				held.written = &written
			}
			return nil
		}
		if !ctrlquota.IsConflict(err) {
			return err
		}
		metrics.Conflict("quota-status-webhook", "configmaps")
		at = liveReads
		last = err
	}
	return fmt.Errorf("reserving quota usage in namespace %q: gave up after %d conflicting attempts: %w", ns, attempts, last)
}

// snapshot builds the tree's snapshot and singleton versions from the cache,
// or with live true from singletons read straight from the API server.
func (h *StatusHandler) snapshot(ctx context.Context, v ctrlquota.TreeView, live bool) (*quota.Snapshot, quota.Versions, []quota.Quota, error) {
	tq, err := ctrlquota.ReadQuotas(ctx, h.Cache, v)
	if err != nil {
		return nil, nil, nil, err
	}
	quotas := tq.Engine()
	if !live && h.Snapshots != nil && h.Feed.Synced() {
		snap, vs := h.Snapshots.SnapshotFed(v, tq, h.Feed)
		return snap, vs, quotas, nil
	}
	var singletons map[string][]corev1.ResourceQuota
	if live && h.Live != nil {
		singletons, err = ctrlquota.ReadSingletonsLive(ctx, h.Live, v)
	} else {
		singletons, err = ctrlquota.ReadSingletons(ctx, h.Cache, v)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if !live && h.Snapshots != nil {
		snap, vs := h.Snapshots.Snapshot(v, tq, singletons)
		return snap, vs, quotas, nil
	}
	return quota.NewSnapshot(v.Tree, quotas, ctrlquota.ActualUsage(singletons)), ctrlquota.ObservedVersions(singletons), quotas, nil
}

func (h *StatusHandler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
