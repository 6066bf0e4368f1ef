package scale

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// settle is how long after ready the restart's writes are still counted:
// a manager that rewrites what it loaded does so within it.
const settle = 10 * time.Second

type restartResult struct {
	ready  time.Duration
	writes int
	// detail names the writes by verb and resource.
	detail string
	// cyclesAllowed counts dry-runs making a cycle that were allowed
	// while the manager started.
	cyclesAllowed int
}

// restartManager stops old (SIGTERM, or SIGKILL if kill), starts the
// manager again and measures the time from its start until it is ready:
// readyz answers and an admission that needs the loaded forest (a dry-run
// that would make the root its own descendant's child) is refused for
// the cycle. It then counts the manager's writes, from its start to
// settle after ready, in the audit log.
func restartManager(ctx context.Context, sys system, cl *cluster, dir string, old *proc, kill bool, t tree) (*proc, restartResult, error) {
	// Nothing must be left to change: wait until the manager has written
	// nothing for quiet (status catching up with the last pods, say).
	if err := waitQuiet(ctx, cl, sys.user); err != nil {
		// HNC at 3,000 namespaces still rewrites what its previous start
		// found: restart anyway; its writes then count that too.
		fmt.Printf("%s: restarting although %v\n", sys.name, err)
	}
	if kill {
		old.kill()
	} else {
		old.stop()
	}
	off := cl.auditOffset()
	start := time.Now()
	p, err := sys.start(cl, dir)
	if err != nil {
		return nil, restartResult{}, err
	}
	if err := p.waitReady(5 * time.Minute); err != nil {
		return p, restartResult{}, err
	}
	allowed, err := waitCycleRefused(ctx, cl.c, t)
	if err != nil {
		return p, restartResult{}, err
	}
	r := restartResult{ready: time.Since(start), cyclesAllowed: allowed}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return p, r, ctx.Err()
	}
	r.writes, r.detail, err = cl.writesSince(ctx, off, sys.user)
	return p, r, err
}

// quiet is how long a manager must write nothing before a restart.
const quiet = 5 * time.Second

// waitQuiet waits, for up to two minutes, until user's writes stop for
// quiet.
func waitQuiet(ctx context.Context, cl *cluster, user string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		off := cl.auditOffset()
		select {
		case <-time.After(quiet):
		case <-ctx.Done():
			return ctx.Err()
		}
		n, _, err := cl.writesSince(ctx, off, user)
		if err != nil || n == 0 {
			return err
		}
	}
	return fmt.Errorf("the manager kept writing for two minutes before the restart")
}

// waitCycleRefused polls, every 25 ms, a dry-run making the tree's
// deepest leaf the root's parent until it is refused for the cycle, and
// counts the times it was allowed meanwhile.
func waitCycleRefused(ctx context.Context, c client.Client, t tree) (allowed int, err error) {
	var last error
	err = wait.PollUntilContextTimeout(ctx, 25*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		hc := &api.HierarchyConfiguration{}
		key := client.ObjectKey{Namespace: t.root, Name: api.Singleton}
		err := c.Get(ctx, key, hc)
		switch {
		case apierrors.IsNotFound(err):
			hc = &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: t.root, Name: api.Singleton}}
			hc.Spec.Parent = t.leaf()
			err = c.Create(ctx, hc, client.DryRunAll)
		case err == nil:
			hc.Spec.Parent = t.leaf()
			err = c.Update(ctx, hc, client.DryRunAll)
		}
		if err == nil {
			// Answered from a forest still loading (HNC does this while
			// it reconciles after a start): not ready yet. Counted.
			allowed++
			last = fmt.Errorf("making %s the parent of %s was allowed", t.leaf(), t.root)
			return false, nil
		}
		last = err
		return strings.Contains(err.Error(), "cycle"), nil
	})
	if err != nil {
		return allowed, fmt.Errorf("the cycle was not refused (last answer: %v): %w", last, err)
	}
	return allowed, nil
}
