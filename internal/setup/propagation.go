package setup

import (
	"flag"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/canopyhq/canopy/internal/controller/hncconfig"
	ctrlprop "github.com/canopyhq/canopy/internal/controller/propagation"
	"github.com/canopyhq/canopy/internal/forestsync"
	policy "github.com/canopyhq/canopy/internal/propagation"
	hncwebhook "github.com/canopyhq/canopy/internal/webhook/hncconfig"
	"github.com/canopyhq/canopy/internal/webhook/objects"
)

// Copying Roles and RoleBindings into descendants is THE one privileged
// grant Canopy needs: to create a Role or RoleBinding the API server
// requires the writer to hold every permission it grants, or `escalate`
// and `bind`. Canopy cannot know in advance which permissions users put in
// their Roles, so it holds escalate and bind on roles and clusterroles.
// Everything else it copies (types configured in HNCConfiguration) is not
// wildcarded here: the administrator grants those writes per type, and a
// missing grant is reported as an OutOfSync condition on HNCConfiguration
// naming the type and the verb.
//
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;clusterroles,verbs=escalate;bind
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=selfsubjectreviews,verbs=create

func init() { registrations = append(registrations, registerPropagation) }

// PropagationOptions are the propagation flags (HNC's, plus Canopy's
// --unpropagated-label and --opt-in-propagation).
type PropagationOptions struct {
	// UnpropagatedAnnotations and UnpropagatedLabels are stripped from
	// copies, in addition to Argo CD's tracking annotation.
	UnpropagatedAnnotations []string
	UnpropagatedLabels      []string
	// NoPropagationLabels are "key=value": objects carrying one are never
	// copied.
	NoPropagationLabels []string
	// OptIn is the opt-in safety option: types listed in HNCConfiguration
	// without a mode are AllowPropagate instead of Propagate.
	OptIn bool
	// Workers bounds concurrent propagation work items (parallel writes).
	Workers int
	// ObjectsWebhookConfiguration names the ValidatingWebhookConfiguration
	// whose objects webhook rules the manager keeps current; empty means
	// the one that holds a webhook named objects.hnc.x-k8s.io.
	ObjectsWebhookConfiguration string
}

func (o *PropagationOptions) bindFlags(fs *flag.FlagSet) {
	fs.Var(stringList{&o.UnpropagatedAnnotations}, "unpropagated-annotation", "An annotation key removed from propagated copies (repeatable; "+policy.ArgoCDTrackingID+" always is).")
	fs.Var(stringList{&o.UnpropagatedLabels}, "unpropagated-label", "A label key removed from propagated copies (repeatable), e.g. app.kubernetes.io/instance for Argo CD's label-based tracking.")
	fs.Var(stringList{&o.NoPropagationLabels}, "nopropagation-label", "key=value: objects with this label are never propagated (repeatable).")
	fs.BoolVar(&o.OptIn, "opt-in-propagation", o.OptIn, "Treat types listed in HNCConfiguration without a mode as AllowPropagate (only objects annotated propagate.hnc.x-k8s.io/... propagate).")
	fs.IntVar(&o.Workers, "propagation-workers", o.Workers, fmt.Sprintf("Concurrent propagation writes across all types (default %d).", ctrlprop.DefaultWorkers))
	fs.StringVar(&o.ObjectsWebhookConfiguration, "objects-webhook-configuration", o.ObjectsWebhookConfiguration, "Name of the ValidatingWebhookConfiguration holding the objects webhook (default: found by webhook name).")
}

// Config compiles the options into the propagation policy.
func (o PropagationOptions) Config() (policy.Config, error) {
	cfg := policy.DefaultConfig()
	cfg.UnpropagatedAnnotations = append(cfg.UnpropagatedAnnotations, o.UnpropagatedAnnotations...)
	cfg.UnpropagatedLabels = append(cfg.UnpropagatedLabels, o.UnpropagatedLabels...)
	for _, s := range o.NoPropagationLabels {
		kv, err := policy.ParseLabelKV(s)
		if err != nil {
			return policy.Config{}, err
		}
		cfg.NoPropagationLabels = append(cfg.NoPropagationLabels, kv)
	}
	return cfg, nil
}

// registerPropagation wires the Propagator (every replica), the
// HNCConfiguration reconciler (leader only) and the objects and
// HNCConfiguration webhooks (every replica).
func registerPropagation(mgr ctrl.Manager, d Deps) error {
	po := d.Options.Propagation
	cfg, err := po.Config()
	if err != nil {
		return err
	}
	modes := policy.ModeOptions{OptInByDefault: po.OptIn}
	p := ctrlprop.New(ctrlprop.Deps{
		Cache:     mgr.GetCache(),
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Mapper:    mgr.GetRESTMapper(),
		Forest:    d.Forest,
		Recorder:  mgr.GetEventRecorder("canopy-propagation"),
		Log:       ctrl.Log.WithName("propagation"),
	}, ctrlprop.Options{
		Config:      cfg,
		Modes:       modes,
		Workers:     po.Workers,
		ForestReady: d.Sync.WaitLoaded,
		Elected:     mgr.Elected(),
		Subscribe:   d.Sync.Subscribe,
		Notify:      d.Sync.Notify,
	})
	ctrlprop.RegisterMetrics(p)
	if err := mgr.Add(p); err != nil {
		return fmt.Errorf("adding propagator: %w", err)
	}
	id := d.Self
	if err := (&hncconfig.Reconciler{
		Client:     mgr.GetClient(),
		Propagator: p,
		Rules: &hncconfig.RulesApplier{
			Client:      mgr.GetClient(),
			ConfigName:  po.ObjectsWebhookConfiguration,
			WebhookName: objects.WebhookName,
		},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up HNCConfiguration reconciler: %w", err)
	}

	objects.Register(mgr, &objects.Handler{
		Forest:    d.Forest,
		Modes:     p,
		Config:    cfg,
		IsManager: id.Is,
		Reader:    mgr.GetClient(),
		Recorder:  mgr.GetEventRecorder("canopy-objects-webhook"),
		Loaded:    d.Sync.Loaded,
		NotLoaded: forestsync.ErrNotLoaded,
	})
	hncwebhook.Register(mgr, &hncwebhook.Handler{Forest: d.Forest, Current: p, Config: cfg, Modes: modes})
	return nil
}
