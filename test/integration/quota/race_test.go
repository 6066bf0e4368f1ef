package quota

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/metrics"
	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/test/integration/framework"
)

const (
	racePods        = 200
	raceLimit       = 100
	raceConcurrency = 50
	// refillFreed pods are deleted after the race, and refillPods
	// creations are fired once the HRQ shows the deletions.
	refillFreed = 20
	refillPods  = 100
)

// raceTree builds a subtree of size namespaces under a root carrying an HRQ
// "race" of raceLimit pods. It returns the subtree's namespaces (the root
// included when size is 1, so a subtree of one namespace is the quota's
// own) and every namespace of the tree.
func raceTree(t *testing.T, prefix string, size int) (subtree, all []string) {
	t.Helper()
	root := prefix + "-root"
	specs := []string{root}
	if size == 1 {
		// The root needs a child to be in a tree; the child holds no pods.
		specs = append(specs, prefix+"-idle="+root)
		subtree = []string{root}
	} else {
		subtree = append(subtree, root)
		for i := 1; i < size; i++ {
			ns := fmt.Sprintf("%s-%d", prefix, i)
			specs = append(specs, ns+"="+root)
			subtree = append(subtree, ns)
		}
	}
	tree(t, specs...)
	all = append([]string{}, subtree...)
	if size == 1 {
		all = append(all, prefix+"-idle")
	}
	hrq(t, root, "race", "pods="+strconv.Itoa(raceLimit), all...)
	return subtree, all
}

// raceResult is what a burst of creations observed.
type raceResult struct {
	admitted, denied int
	// names are the admitted pods, as namespace/name.
	names []client.ObjectKey
	// others are refusals that were not quota denials.
	others []error
	// maxUsed is the largest subtree usage seen while racing.
	maxUsed int64
	// denials are the first few distinct quota denials, for a failure's
	// diagnosis.
	denials []string
}

// race creates racePods pods round-robin over the namespaces; see burst.
func race(t *testing.T, namespaces []string, mid func()) raceResult {
	t.Helper()
	return burst(t, namespaces, racePods, "race", mid)
}

// burst creates n pods named prefix-<i> round-robin over the namespaces
// from raceConcurrency workers released together, while sampling the
// subtree's usage from the singletons. mid, if set, runs once half of the
// pods have been attempted.
func burst(t *testing.T, namespaces []string, n int, prefix string, mid func()) raceResult {
	t.Helper()
	var res raceResult
	var mu sync.Mutex
	var attempted atomic.Int64
	var midOnce sync.Once
	stopSampling := make(chan struct{})
	sampled := make(chan int64)
	go func() {
		var max int64
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-stopSampling:
				sampled <- max
				return
			case <-ticker.C:
				if u := subtreeUsed(namespaces); u > max {
					max = u
				}
			}
		}
	}()
	work := make(chan int, n)
	for i := range n {
		work <- i
	}
	close(work)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range raceConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range work {
				ns := namespaces[i%len(namespaces)]
				name := fmt.Sprintf("%s-%d", prefix, i)
				err := createPod(ns, name)
				if a := attempted.Add(1); a == int64(n/2) && mid != nil {
					midOnce.Do(mid)
				}
				mu.Lock()
				switch {
				case err == nil:
					res.admitted++
					res.names = append(res.names, client.ObjectKey{Namespace: ns, Name: name})
				case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota"):
					res.denied++
					if msg := err.Error(); len(res.denials) < 4 && !slices.Contains(res.denials, msg) {
						res.denials = append(res.denials, msg)
					}
				default:
					res.others = append(res.others, err)
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	close(stopSampling)
	res.maxUsed = <-sampled
	if u := subtreeUsed(namespaces); u > res.maxUsed {
		res.maxUsed = u
	}
	return res
}

// subtreeUsed sums the pods the singletons record over the namespaces, from
// one List: a List reads every singleton at one etcd revision, so the sum is
// the usage at that instant. (A sum of one read per namespace is not:
// usage also goes down during a race, when a recount or the leader drops a
// probe pod deleted just before it, and a namespace read before its drop
// and another read after taking the freed room would count the room twice.)
func subtreeUsed(namespaces []string) int64 {
	in := map[string]bool{}
	for _, ns := range namespaces {
		in[ns] = true
	}
	var list corev1.ResourceQuotaList
	if err := adminClient.List(context.Background(), &list); err != nil {
		return 0
	}
	var sum int64
	for _, rq := range list.Items {
		if !in[rq.Namespace] || rq.Name != quota.UnscopedSingletonName {
			continue
		}
		u := rq.Status.Used[corev1.ResourcePods]
		sum += u.Value()
	}
	return sum
}

func checkRace(t *testing.T, namespaces []string, res raceResult) {
	t.Helper()
	checkBurst(t, "race", namespaces, res, raceLimit)
}

// checkBurst asserts that exactly want creations were admitted, only for
// quota reasons were the others refused, usage never went above the limit,
// and exactly raceLimit pods exist at the end.
func checkBurst(t *testing.T, what string, namespaces []string, res raceResult, want int) {
	t.Helper()
	for _, err := range res.others {
		t.Errorf("%s: refused for a reason other than quota: %v", what, err)
	}
	if res.admitted != want {
		t.Errorf("%s: admitted %d pods, want exactly %d (denied %d; first denials: %q)", what, res.admitted, want, res.denied, res.denials)
	}
	if res.maxUsed > raceLimit {
		t.Errorf("%s: subtree usage reached %d, above hard %d", what, res.maxUsed, raceLimit)
	}
	if n := countPods(t, namespaces...); n != raceLimit {
		t.Errorf("%s: %d pods exist in the subtree, want %d", what, n, raceLimit)
	}
}

// probe admits and deletes a pod in every namespace, as a readiness check
// would, right before the race: the deletions are not yet recounted when
// the race starts.
func probe(t *testing.T, namespaces []string) {
	t.Helper()
	for _, ns := range namespaces {
		mustCreatePods(t, ns, "probe")
	}
	for _, ns := range namespaces {
		if err := adminClient.Delete(context.Background(), pod(ns, "probe")); err != nil {
			t.Fatalf("deleting probe pod in %q: %v", ns, err)
		}
	}
}

// refill deletes refillFreed of the admitted pods, waits until the HRQ's
// status.used shows the deletions, and fires refillPods creations at once:
// exactly the freed room must be admitted again. The status is first seen
// full, as the race left it, so that a status written in the race's middle
// is not taken for the deletions (TestHRQStatusSettlesAfterABurst).
func refill(t *testing.T, root string, namespaces []string, res raceResult) {
	t.Helper()
	if res.admitted == raceLimit {
		waitHRQUsed(t, root, "race", corev1.ResourcePods, raceLimit)
	}
	for _, k := range res.names[:refillFreed] {
		if err := adminClient.Delete(context.Background(), pod(k.Namespace, k.Name)); err != nil {
			t.Fatalf("deleting pod %s: %v", k, err)
		}
	}
	waitHRQUsed(t, root, "race", corev1.ResourcePods, raceLimit-refillFreed)
	checkBurst(t, "refill", namespaces, burst(t, namespaces, refillPods, "refill", nil), refillFreed)
}

// scenario is the whole program: a tree of size namespaces, probes, a race
// of attempts creations against raceLimit, and a refill. With replicas 2 it
// runs against two leader-elected replicas behind a round-robin proxy.
func scenario(t *testing.T, prefix string, size, attempts, replicas int) {
	subtree, all := raceTree(t, prefix, size)
	var proxy *framework.Proxy
	if replicas > 1 {
		_, proxy = env.Replicas(t, replicas, "canopy-quota-race")
	}
	probe(t, all)
	conflicts := metrics.Conflicts("quota-status-webhook", "configmaps")
	within, revoked := metrics.EscrowCount(metrics.EscrowWithin), metrics.EscrowCount(metrics.EscrowRevoked)
	res := burst(t, subtree, attempts, "race", nil)
	conflicts = metrics.Conflicts("quota-status-webhook", "configmaps") - conflicts
	t.Logf("race: %d admitted, %d denied, %.0f ledger write conflicts, %.0f admissions within a grant, %.0f grants revoked", res.admitted, res.denied, conflicts,
		metrics.EscrowCount(metrics.EscrowWithin)-within, metrics.EscrowCount(metrics.EscrowRevoked)-revoked)
	if replicas == 1 && conflicts > 0 {
		// One replica's reservations queue on the tree's lock; unlocked,
		// the 50-namespace race made over 200 conflicts and some
		// reservations gave up after 20 attempts.
		t.Errorf("race: one replica's ledger writes conflicted %.0f times, want none", conflicts)
	}
	checkRace(t, subtree, res)
	if res.admitted >= refillFreed {
		refill(t, prefix+"-root", subtree, res)
	}
	if proxy != nil && size > 1 && (proxy.Served(0) == 0 || proxy.Served(1) == 0) {
		t.Errorf("the proxy served %d and %d requests: both replicas must decide", proxy.Served(0), proxy.Served(1))
	}
}

// scenarioSizes are the subtrees and attempts: K=1, 2 and 10 with
// 200 creations, and K=50 with 1,000.
var scenarioSizes = []struct{ size, attempts int }{{1, racePods}, {2, racePods}, {10, racePods}, {50, 1000}}

func TestRaceOneManager(t *testing.T) {
	admin(t)
	for _, c := range scenarioSizes {
		t.Run(fmt.Sprintf("subtree of %d, %d pods", c.size, c.attempts), func(t *testing.T) {
			scenario(t, fmt.Sprintf("race1-%d", c.size), c.size, c.attempts, 1)
		})
	}
}

func TestRaceTwoReplicas(t *testing.T) {
	admin(t)
	for _, c := range scenarioSizes {
		t.Run(fmt.Sprintf("subtree of %d, %d pods", c.size, c.attempts), func(t *testing.T) {
			scenario(t, fmt.Sprintf("race2-%d", c.size), c.size, c.attempts, 2)
		})
	}
}

func TestRaceReplicaStoppedMidway(t *testing.T) {
	admin(t)
	for _, size := range []int{1, 2, 10} {
		t.Run(fmt.Sprintf("subtree of %d", size), func(t *testing.T) {
			namespaces, all := raceTree(t, fmt.Sprintf("racek-%d", size), size)
			stops, _ := env.Replicas(t, 2, "canopy-quota-race")
			probe(t, all)
			// The first replica started is the leader (it took the lease
			// first); stop it halfway through.
			res := race(t, namespaces, func() { go stops[0]() })
			checkRace(t, namespaces, res)
		})
	}
}
