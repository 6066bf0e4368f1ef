package ha

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// namespaces is the size of the propagation tree, root included:
// CANOPY_HA_NAMESPACES (make test-ha sets 1,000; 1,998 copies), else 200
// so make test stays quick.
func namespaces(t *testing.T) int {
	v := os.Getenv("CANOPY_HA_NAMESPACES")
	if v == "" {
		return 200
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 20 {
		t.Fatalf("CANOPY_HA_NAMESPACES=%q: want a number of at least 20", v)
	}
	return n
}

// TestLeaderKilled runs two replicas, kills the leader in the middle of a
// propagation, starts a third replica as the new standby, and kills the
// new leader in the middle of a Tenant's expansion.
func TestLeaderKilled(t *testing.T) {
	start := time.Now()
	n := namespaces(t)
	cl := startCluster(t, "replica-a", "replica-b", "replica-c")
	// a starts alone, so it is the leader; b then waits as the standby.
	cl.start(t, "replica-a")
	cl.waitHolder(t, "replica-a", time.Minute)
	cl.start(t, "replica-b")

	prop := killDuringPropagation(t, cl, "replica-a", "replica-b", n)
	t.Logf("HA figures, propagation to %d namespaces: %v", n, prop)
	checkTakeover(t, prop)

	cl.start(t, "replica-c")
	ten := killDuringTenant(t, cl, "replica-b", "replica-c")
	t.Logf("HA figures, Tenant of 50 namespaces: %v", ten)
	checkTakeover(t, ten)
	t.Logf("HA test took %v", time.Since(start).Round(time.Second))
}

// maxTakeover bounds the time from the kill to the new leader's first
// write: the lease duration, the standby's retries around it (each up to
// 2.2 retry periods with client-go's jitter) and time for the new leader
// to start its controllers. A standby that waited for a resync, or
// started its informers only after a long stall, would exceed it.
const maxTakeover = leaseDuration + 3*retryPeriod + 20*time.Second

func checkTakeover(t *testing.T, f figures) {
	t.Helper()
	if f.lease < leaseDuration-renewDeadline {
		t.Errorf("the lease changed hands %v after the kill, sooner than a live leader's lease could have expired", f.lease)
	}
	if f.firstWrite > maxTakeover {
		t.Errorf("the new leader's first write came %v after the kill, want at most %v", f.firstWrite, maxTakeover)
	}
}
