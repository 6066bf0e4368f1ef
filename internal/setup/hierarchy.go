package setup

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/canopyhq/canopy/internal/controller/anchor"
	"github.com/canopyhq/canopy/internal/controller/hierarchy"
	"github.com/canopyhq/canopy/internal/webhook/anchors"
	hcwebhook "github.com/canopyhq/canopy/internal/webhook/hierarchy"
	"github.com/canopyhq/canopy/internal/webhook/namespaces"
)

func init() { registrations = append(registrations, registerHierarchy) }

// registerHierarchy wires the forest syncer (every replica), the hierarchy
// and anchor reconcilers (leader only) and the namespace, hierarchy and
// anchor validators (every replica).
func registerHierarchy(mgr ctrl.Manager, d Deps) error {
	if err := d.Sync.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&hierarchy.Reconciler{Client: mgr.GetClient(), Forest: d.Forest, Sync: d.Sync}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up hierarchy reconciler: %w", err)
	}
	if err := (&anchor.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Forest: d.Forest}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up anchor reconciler: %w", err)
	}
	id := d.Self
	namespaces.RegisterValidator(mgr, d.Forest, d.Sync, id.Is)
	// The move check judges which sources would propagate with the same
	// policy the propagation controller uses (--nopropagation-label, ...).
	pcfg, err := d.Options.Propagation.Config()
	if err != nil {
		return err
	}
	hcwebhook.Register(mgr, d.Forest, d.Sync, id.Is, hcwebhook.WithPropagationConfig(pcfg), hcwebhook.WithQuotaMoves(d.QuotaMoves))
	anchors.Register(mgr, d.Forest, d.Sync, id.Is)
	return nil
}
