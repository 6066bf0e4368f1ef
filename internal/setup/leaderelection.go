package setup

import (
	"flag"
	"fmt"
	"time"

	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
)

// LeaseOptions time the leader election and name this replica in the
// lease. The defaults are controller-runtime's and kube-controller-
// manager's (15 s, 10 s, 2 s): a standby takes over within about a lease
// duration of the leader's death (the HA test in test/e2e/ha measures it),
// and a leader keeps its lease through API server stalls of several
// seconds. Shorter leases would speed up the takeover after a crash (a
// clean shutdown releases the lease at once) at the price of more lease
// writes and of a leader losing its lease, and exiting, on a slow API
// server. Webhooks answer on every replica, so a takeover delays only
// reconciling, never admission.
type LeaseOptions struct {
	// Duration, RenewDeadline and RetryPeriod: zero means
	// controller-runtime's default.
	Duration      time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Identity is this replica's holderIdentity in the lease; empty means
	// controller-runtime's hostname_uuid. In a cluster the pod name
	// (from the downward API) makes `kubectl get lease` name the leader.
	Identity string
}

// DefaultLeaseOptions are the defaults main starts from.
func DefaultLeaseOptions() LeaseOptions {
	return LeaseOptions{Duration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
}

func (o *LeaseOptions) bindFlags(fs *flag.FlagSet) {
	fs.DurationVar(&o.Duration, "leader-election-lease-duration", o.Duration, "How long a standby waits after the leader's last renewal before taking the lease.")
	fs.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", o.RenewDeadline, "How long the leader retries renewing before it gives up leadership (and exits).")
	fs.DurationVar(&o.RetryPeriod, "leader-election-retry-period", o.RetryPeriod, "How often replicas try to acquire or renew the lease.")
	fs.StringVar(&o.Identity, "leader-election-identity", o.Identity, "This replica's holderIdentity in the lease, e.g. the pod name (default: hostname_uuid).")
}

// applyLease sets the lease timing in mo and, when an identity is given,
// a lease lock that carries it (controller-runtime has no option for the
// identity alone). Call it after mo's leader-election fields are set.
func (o LeaseOptions) applyLease(cfg *rest.Config, mo *ctrl.Options) error {
	if o.Duration > 0 {
		mo.LeaseDuration = &o.Duration
	}
	if o.RenewDeadline > 0 {
		mo.RenewDeadline = &o.RenewDeadline
	}
	if o.RetryPeriod > 0 {
		mo.RetryPeriod = &o.RetryPeriod
	}
	if o.Identity == "" || !mo.LeaderElection {
		return nil
	}
	lcfg := rest.AddUserAgent(rest.CopyConfig(cfg), "leader-election")
	// As controller-runtime does: a hung request must not outlast the
	// renew deadline.
	renew := o.RenewDeadline
	if renew == 0 {
		renew = 10 * time.Second
	}
	lcfg.Timeout = max(renew/2, time.Second)
	core, err := corev1client.NewForConfig(lcfg)
	if err != nil {
		return fmt.Errorf("creating the leader-election client: %w", err)
	}
	coord, err := coordinationv1client.NewForConfig(lcfg)
	if err != nil {
		return fmt.Errorf("creating the leader-election client: %w", err)
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, mo.LeaderElectionNamespace, mo.LeaderElectionID,
		core, coord, resourcelock.ResourceLockConfig{Identity: o.Identity})
	if err != nil {
		return fmt.Errorf("creating the leader-election lock: %w", err)
	}
	mo.LeaderElectionResourceLockInterface = lock
	return nil
}
