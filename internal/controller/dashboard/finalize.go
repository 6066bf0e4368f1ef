package dashboard

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/crdstate"
	"github.com/canopyhq/canopy/internal/grafana"
)

// finalize tears the tenant's Grafana space down following its deletion
// policy, then removes the finalizer. While Grafana fails it retries with
// backoff, until TeardownTimeout after the deletion began: then it gives
// up, records a Warning event and removes the finalizer anyway.
//
// While the Tenant CRD is being deleted (an uninstall) it removes the
// finalizer without reaching Grafana, whatever the policy: the tenant's
// organization (or its folders, teams and datasource) stays.
func (r *Reconciler) finalize(ctx context.Context, t *tenancyv1.Tenant) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(t, Finalizer) {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx)
	uninstall, err := r.uninstalling(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	if uninstall {
		err = nil
		log.Info("Released Grafana finalizer without teardown; the Tenant CRD is being deleted")
		r.event(t, corev1.EventTypeNormal, "GrafanaReleasedForUninstall",
			"Released without teardown: the Tenant CRD is being deleted; %s stays in Grafana", leftovers(t, r.Config.OrgID))
	} else {
		err = r.teardown(ctx, t)
	}
	if err != nil {
		waited := r.now().Sub(t.DeletionTimestamp.Time)
		if waited < r.Config.teardownTimeout() {
			return ctrl.Result{}, fmt.Errorf("tearing down Grafana (policy %s, giving up after %s): %w",
				t.Spec.DeletionPolicy, r.Config.teardownTimeout(), err)
		}
		r.event(t, corev1.EventTypeWarning, "GrafanaTeardownAbandoned",
			"Gave up tearing down Grafana after %s; remove by hand %s: %v",
			waited.Round(1e9), leftovers(t, r.Config.OrgID), err)
		log.Error(err, "Gave up tearing down Grafana", "waited", waited)
	}
	patch := client.MergeFromWithOptions(t.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(t, Finalizer)
	if perr := r.Client.Patch(ctx, t, patch); apierrors.IsConflict(perr) {
		// Routine: another controller removed its own finalizer meanwhile.
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	} else if client.IgnoreNotFound(perr) != nil {
		return ctrl.Result{}, fmt.Errorf("removing finalizer: %w", perr)
	}
	if err == nil && !uninstall {
		log.Info("Grafana torn down", "deletionPolicy", t.Spec.DeletionPolicy)
	}
	return ctrl.Result{}, nil
}

// uninstalling reports whether Canopy is being uninstalled: the Tenant CRD
// or one of HNC's CRDs that hold the trees is being deleted.
func (r *Reconciler) uninstalling(ctx context.Context) (bool, error) {
	if r.CRDReader == nil {
		return false, nil
	}
	crd, err := crdstate.AnyDeleting(ctx, r.CRDReader)
	return crd != "", err
}

func (r *Reconciler) teardown(ctx context.Context, t *tenancyv1.Tenant) error {
	if t.Spec.DeletionPolicy != tenancyv1.DeletionDelete {
		return nil // Retain: nothing to do, and no need to reach Grafana
	}
	p, err := r.provisioner(ctx)
	if err != nil {
		return err
	}
	// The tree may be gone already; teardown needs only the names.
	st := grafana.FromTenant(t, func(string) []string { return nil }, r.Config.datasourceURL(t.Name))
	_, err = p.Teardown(ctx, st, t.Spec.DeletionPolicy)
	return err
}

// leftovers names what an abandoned teardown may leave in Grafana.
func leftovers(t *tenancyv1.Tenant, sharedOrg int64) string {
	if sharedOrg == 0 {
		return fmt.Sprintf("the organization %q", t.Name)
	}
	folders := []string{grafana.FolderUID(t.Name, t.Name)}
	for _, tm := range t.Spec.Teams {
		if tm.Name != t.Name {
			folders = append(folders, grafana.FolderUID(t.Name, tm.Name))
		}
	}
	return fmt.Sprintf("in organization %d the teams %q, the folders %s and the datasource %s",
		sharedOrg, grafana.TeamName(t.Name, "")+"*", strings.Join(folders, ", "), grafana.DatasourceUID(t.Name))
}
