package quota

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/quota"
)

const (
	racePods        = 200
	raceLimit       = 100
	raceConcurrency = 50
)

// raceTree builds a subtree of size namespaces under a root carrying an HRQ
// of raceLimit pods, and returns the subtree's namespaces (the root
// included when size is 1, so a subtree of one namespace is the quota's
// own).
func raceTree(t *testing.T, prefix string, size int) []string {
	t.Helper()
	root := prefix + "-root"
	specs := []string{root}
	var subtree []string
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
	all := append([]string{}, subtree...)
	if size == 1 {
		all = append(all, prefix+"-idle")
	}
	hrq(t, root, "race", "pods="+strconv.Itoa(raceLimit), all...)
	return subtree
}

// raceResult is what a race observed.
type raceResult struct {
	admitted, denied int
	// others are refusals that were not quota denials.
	others []error
	// maxUsed is the largest subtree usage seen while racing.
	maxUsed int64
}

// race creates racePods pods round-robin over the namespaces, raceConcurrency
// at a time, while sampling the subtree's usage from the singletons. mid,
// if set, runs once half of the pods have been attempted.
func race(t *testing.T, namespaces []string, mid func()) raceResult {
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
	sem := make(chan struct{}, raceConcurrency)
	var wg sync.WaitGroup
	for i := range racePods {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ns := namespaces[i%len(namespaces)]
			err := createPod(ns, fmt.Sprintf("race-%d", i))
			if n := attempted.Add(1); n == racePods/2 && mid != nil {
				midOnce.Do(mid)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				res.admitted++
			case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota"):
				res.denied++
			default:
				res.others = append(res.others, err)
			}
		}()
	}
	wg.Wait()
	close(stopSampling)
	res.maxUsed = <-sampled
	if u := subtreeUsed(namespaces); u > res.maxUsed {
		res.maxUsed = u
	}
	return res
}

// subtreeUsed sums the pods the singletons record over the namespaces.
// Usage only grows during a race, so a sum of reads taken one after the
// other is never above the true usage at the last read.
func subtreeUsed(namespaces []string) int64 {
	var sum int64
	for _, ns := range namespaces {
		rq := &corev1.ResourceQuota{}
		if err := adminClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: quota.UnscopedSingletonName}, rq); err != nil {
			continue
		}
		u := rq.Status.Used[corev1.ResourcePods]
		sum += u.Value()
	}
	return sum
}

func checkRace(t *testing.T, namespaces []string, res raceResult) {
	t.Helper()
	for _, err := range res.others {
		t.Errorf("refused for a reason other than quota: %v", err)
	}
	if res.admitted != raceLimit {
		t.Errorf("admitted %d pods, want exactly %d (denied %d)", res.admitted, raceLimit, res.denied)
	}
	if res.maxUsed > raceLimit {
		t.Errorf("subtree usage reached %d, above hard %d", res.maxUsed, raceLimit)
	}
	if n := countPods(t, namespaces...); n != raceLimit {
		t.Errorf("%d pods exist in the subtree, want %d", n, raceLimit)
	}
}

func TestRaceOneManager(t *testing.T) {
	admin(t)
	for _, size := range []int{1, 2, 10} {
		t.Run(fmt.Sprintf("subtree of %d", size), func(t *testing.T) {
			namespaces := raceTree(t, fmt.Sprintf("race1-%d", size), size)
			checkRace(t, namespaces, race(t, namespaces, nil))
		})
	}
}

func TestRaceTwoReplicas(t *testing.T) {
	admin(t)
	for _, size := range []int{1, 2, 10} {
		t.Run(fmt.Sprintf("subtree of %d", size), func(t *testing.T) {
			namespaces := raceTree(t, fmt.Sprintf("race2-%d", size), size)
			_, proxy := env.Replicas(t, 2, "canopy-quota-race")
			res := race(t, namespaces, nil)
			checkRace(t, namespaces, res)
			if size > 1 && (proxy.Served(0) == 0 || proxy.Served(1) == 0) {
				t.Errorf("the proxy served %d and %d requests: both replicas must decide", proxy.Served(0), proxy.Served(1))
			}
		})
	}
}

func TestRaceReplicaStoppedMidway(t *testing.T) {
	admin(t)
	for _, size := range []int{1, 2, 10} {
		t.Run(fmt.Sprintf("subtree of %d", size), func(t *testing.T) {
			namespaces := raceTree(t, fmt.Sprintf("racek-%d", size), size)
			stops, _ := env.Replicas(t, 2, "canopy-quota-race")
			// The first replica started is the leader (it took the lease
			// first); stop it halfway through.
			res := race(t, namespaces, func() { go stops[0]() })
			checkRace(t, namespaces, res)
		})
	}
}
