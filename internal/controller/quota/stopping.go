package quota

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
)

// quietWhenStopping drops err when ctx has ended: the manager is stopping
// (a replica shut down, or it lost the lease), and the request it was
// serving goes with it. controller-runtime would log such an error with a
// stack trace as a failed reconcile; the test suites' stopped replicas
// logged about sixty a run, "context canceled" on a read of the ledger.
func quietWhenStopping(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Stopping in the middle of a reconcile", "reason", err.Error())
	return nil
}
