package quota

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/metrics"
)

// DenialShards is how many ConfigMaps hold the denials the replicas share,
// each singleton's in the one its namespace hashes to.
const DenialShards = 16

// denialTTL is how long a recorded denial is kept: the API server's
// attempts of one batch come within milliseconds, so a minute is ample, and
// pruning keeps each ConfigMap small whatever the size of the cluster.
const denialTTL = time.Minute

// claimAttempts bounds Claim's compare-and-swap retries.
const claimAttempts = 8

// DenialStore holds, for every replica of the manager, the last batch each
// quota singleton's status update was denied for, so that only the first
// denial of a batch is clamped whichever replica the API server's attempts
// reach (see the status webhook's deniedBatches). A replica records a
// batch it sees for the first time, and reads what the others recorded,
// in a ConfigMap of the manager's namespace, with compare-and-swap.
type DenialStore struct {
	// Client writes; Reader reads straight from the API server.
	Client    client.Client
	Reader    client.Reader
	Namespace string
	// Now defaults to time.Now.
	Now func() time.Time

	// shards serialises this replica's writes per ConfigMap, so that its
	// own claims queue instead of conflicting.
	shards [DenialShards]sync.Mutex
}

// DenialShardName names the ConfigMap that holds ns's denials.
func DenialShardName(ns string) string { return denialShardName(denialShard(ns)) }

func denialShardName(i uint32) string { return fmt.Sprintf("canopy-quota-denials-%02d", i) }

func denialShard(ns string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(ns))
	return h.Sum32() % DenialShards
}

// Claim records sig as the last batch denied for the singleton key and
// reports whether it is new: false when some replica recorded the same sig
// for it before (the API server is retrying a batch already denied).
func (s *DenialStore) Claim(ctx context.Context, key types.NamespacedName, sig string) (bool, error) {
	mu := &s.shards[denialShard(key.Namespace)]
	mu.Lock()
	defer mu.Unlock()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	name := DenialShardName(key.Namespace)
	// A namespace's name has no dot, so this key names one singleton.
	field := key.Namespace + "." + key.Name
	for range claimAttempts {
		cm := &corev1.ConfigMap{}
		err := s.Reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: name}, cm)
		switch {
		case apierrors.IsNotFound(err):
			// Never created here: a create inside an admission would wait
			// for the API server's quota admission, whose workers may all
			// be waiting for this webhook. EnsureShards creates them.
			return false, fmt.Errorf("quota denials %s do not exist yet", name)
		case err != nil:
			return false, fmt.Errorf("reading quota denials %s: %w", name, err)
		}
		if _, last := decodeDenial(cm.Data[field]); last == sig {
			return false, nil
		}
		at := now()
		pruneDenials(cm.Data, at)
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[field] = encodeDenial(at, sig)
		switch err := s.Client.Update(ctx, cm); {
		case apierrors.IsConflict(err):
			metrics.Conflict("quota-denials", "configmaps")
			continue
		case err != nil:
			return false, fmt.Errorf("recording a quota denial in %s: %w", name, err)
		}
		return true, nil
	}
	return false, errors.New("recording a quota denial: the denials kept changing")
}

// EnsureShards creates the ConfigMaps Claim writes, outside any admission
// (a create made while judging one could deadlock with the API server's
// quota admission, see Claim). Every replica calls it at start; it is
// idempotent, and writes nothing when they exist.
func (s *DenialStore) EnsureShards(ctx context.Context) error {
	for i := range uint32(DenialShards) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace,
			Name: denialShardName(i)}}
		// Read first: a restart writes nothing when the shards exist.
		switch err := s.Reader.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); {
		case err == nil:
			continue
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("reading quota denials %s: %w", cm.Name, err)
		}
		if err := s.Client.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating quota denials %s: %w", cm.Name, err)
		}
	}
	return nil
}

// NeedLeaderElection is false: every replica judges admissions, so every
// replica makes sure the shards exist.
func (s *DenialStore) NeedLeaderElection() bool { return false }

// Start creates the shards, retrying until it succeeds or ctx ends; it is
// the DenialStore's manager.Runnable. Until then Claim fails, and a replica
// judges denials on its own record.
func (s *DenialStore) Start(ctx context.Context) error {
	return wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		if err := s.EnsureShards(ctx); err != nil {
			ctrl.LoggerFrom(ctx).V(1).Info("Creating the shared quota denials", "reason", err.Error())
			return false, nil
		}
		return true, nil
	})
}

// encodeDenial stores when a batch was denied with its signature.
func encodeDenial(at time.Time, sig string) string {
	return strconv.FormatInt(at.UnixNano(), 10) + " " + sig
}

// decodeDenial reads encodeDenial's value; a value it cannot read is an
// old denial with no signature.
func decodeDenial(v string) (time.Time, string) {
	ts, sig, ok := strings.Cut(v, " ")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil {
		return time.Time{}, ""
	}
	return time.Unix(0, n), sig
}

// pruneDenials drops the denials recorded more than denialTTL before now.
func pruneDenials(data map[string]string, now time.Time) {
	for k, v := range data {
		if at, _ := decodeDenial(v); now.Sub(at) > denialTTL {
			delete(data, k)
		}
	}
}
