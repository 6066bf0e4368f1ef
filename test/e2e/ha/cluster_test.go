// Package ha proves Canopy's high availability with real processes: two
// replicas of bin/canopy-manager with leader election, on a local control
// plane, behind a webhook proxy that plays the Service. The leader is
// killed with SIGKILL in the middle of propagating to a large tree and in
// the middle of expanding a Tenant, and the standby must finish the work
// correctly. The figures (takeover time, copies at the kill, convergence)
// are logged and recorded in the README.
package ha

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/localcanopy"
)

const (
	managerNamespace = "canopy-system"
	leaseName        = "canopy-manager.tenancy.canopy.dev"
	// The lease timing the replicas run with: the manager's defaults
	// (internal/setup/leaderelection.go), passed explicitly so the figures
	// below say what they were measured with.
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// cluster is the control plane, the webhook proxy and the replicas.
type cluster struct {
	root, dir string
	lc        *localcanopy.Cluster
	cfg       *rest.Config
	c         client.WithWatch
	// ports are the replicas' webhook ports, by identity; the proxy
	// forwards to each in turn and skips those that refuse.
	ports    map[string]int
	mu       sync.Mutex
	replicas map[string]*localcanopy.Manager
}

// startCluster starts the control plane and a webhook proxy in front of
// the replicas named ids (their ports are fixed now, so a replica started
// later is reached too); no replica runs yet.
func startCluster(t *testing.T, ids ...string) *cluster {
	t.Helper()
	root := framework.RepoRoot()
	if _, err := os.Stat(root + "/bin/canopy-manager"); err != nil {
		t.Fatalf("bin/canopy-manager is missing (run `make build`): %v", err)
	}
	dir := t.TempDir()
	if keep := os.Getenv("CANOPY_HA_LOGS"); keep != "" {
		dir = keep
	}
	ctx := context.Background()
	lc, err := localcanopy.StartCluster(ctx, root, dir, managerNamespace)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lc.Stop)
	c, err := client.NewWithWatch(lc.CP.Config, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	cl := &cluster{root: root, dir: dir, lc: lc, cfg: lc.CP.Config, c: c, ports: map[string]int{}, replicas: map[string]*localcanopy.Manager{}}
	host, port, certDir := lc.CP.WebhookServing()
	var backends []string
	for _, id := range ids {
		p, err := controlplane.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		cl.ports[id] = p
		backends = append(backends, net.JoinHostPort(host, strconv.Itoa(p)))
	}
	proxy, err := framework.StartProxy(net.JoinHostPort(host, strconv.Itoa(port)), certDir, backends...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Stop)
	t.Cleanup(func() {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		for _, m := range cl.replicas {
			m.Stop()
		}
	})
	t.Logf("control plane and replica logs in %s", dir)
	return cl
}

// start runs replica id with leader election on and waits until it is
// ready (webhooks served, forest loaded); it may still be a standby.
func (cl *cluster) start(t *testing.T, id string) {
	t.Helper()
	m, err := localcanopy.StartReplica(cl.root, cl.dir, cl.lc, id, cl.ports[id],
		"--leader-elect",
		"--leader-election-identity="+id,
		"--leader-election-lease-duration="+leaseDuration.String(),
		"--leader-election-renew-deadline="+renewDeadline.String(),
		"--leader-election-retry-period="+retryPeriod.String(),
	)
	if err != nil {
		t.Fatalf("starting replica %s: %v", id, err)
	}
	cl.mu.Lock()
	cl.replicas[id] = m
	cl.mu.Unlock()
}

// kill SIGKILLs replica id and returns when it has exited.
func (cl *cluster) kill(id string) {
	cl.mu.Lock()
	m := cl.replicas[id]
	delete(cl.replicas, id)
	cl.mu.Unlock()
	m.Kill()
}

// holder returns the lease's holderIdentity ("" if none or no lease).
func (cl *cluster) holder(ctx context.Context) (string, error) {
	l := &coordinationv1.Lease{}
	if err := cl.c.Get(ctx, client.ObjectKey{Namespace: managerNamespace, Name: leaseName}, l); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	if l.Spec.HolderIdentity == nil {
		return "", nil
	}
	return *l.Spec.HolderIdentity, nil
}

// waitHolder waits until replica id holds the lease.
func (cl *cluster) waitHolder(t *testing.T, id string, timeout time.Duration) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		h, err := cl.holder(ctx)
		last = h
		return err == nil && h == id, nil
	})
	if err != nil {
		t.Fatalf("replica %s did not take the lease within %v (holder %q): %v", id, timeout, last, err)
	}
}

// leaseEvent is a change of the lease's holder, as the watch saw it.
type leaseEvent struct {
	at          time.Time // when the watch delivered it
	holder      string
	acquireTime time.Time // the lease's spec.acquireTime
	rv          string
}

// watchLease records every change of the lease's holder until ctx ends.
func (cl *cluster) watchLease(ctx context.Context, t *testing.T) func() []leaseEvent {
	var mu sync.Mutex
	var events []leaseEvent
	w, err := cl.c.Watch(ctx, &coordinationv1.LeaseList{}, client.InNamespace(managerNamespace))
	if err != nil {
		t.Fatalf("watching leases: %v", err)
	}
	go func() {
		defer w.Stop()
		last := ""
		for ev := range w.ResultChan() {
			l, ok := ev.Object.(*coordinationv1.Lease)
			if !ok || l.Name != leaseName || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == last {
				continue
			}
			last = *l.Spec.HolderIdentity
			e := leaseEvent{at: time.Now(), holder: last, rv: l.ResourceVersion}
			if l.Spec.AcquireTime != nil {
				e.acquireTime = l.Spec.AcquireTime.Time
			}
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	}()
	return func() []leaseEvent {
		mu.Lock()
		defer mu.Unlock()
		return append([]leaseEvent(nil), events...)
	}
}

// takeoverAfter returns the first change of holder to id after kill.
func takeoverAfter(events []leaseEvent, id string, kill time.Time) (leaseEvent, error) {
	for _, e := range events {
		if e.holder == id && e.at.After(kill) {
			return e, nil
		}
	}
	return leaseEvent{}, fmt.Errorf("no lease change to %s after the kill: %+v", id, events)
}

// eventually polls check every 250 ms until it passes or timeout ends.
func eventually(t *testing.T, timeout time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		last = check(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s within %v: %v (last: %v)", what, timeout, err, last)
	}
}
