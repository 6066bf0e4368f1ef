package hncconfig

import (
	"context"
	"fmt"
	"sort"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	admissionac "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/controller/propagation"
)

// FieldManager owns the objects webhook's rules.
const FieldManager = "canopy-objects-webhook"

// DesiredRules are the objects webhook's rules for the propagated types:
// one rule per type, all versions, for create, update and delete, sorted.
// Types that failed to start are left out.
func DesiredRules(types []propagation.TypeStatus) []admissionv1.RuleWithOperations {
	var out []admissionv1.RuleWithOperations
	scope := admissionv1.NamespacedScope
	for _, t := range types {
		if t.Err != nil || t.Mode == api.Ignore {
			continue
		}
		out = append(out, admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update, admissionv1.Delete},
			Rule: admissionv1.Rule{
				APIGroups:   []string{t.GroupResource.Group},
				APIVersions: []string{"*"},
				Resources:   []string{t.GroupResource.Resource},
				Scope:       &scope,
			},
		})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Rule, out[j].Rule
		if a.APIGroups[0] != b.APIGroups[0] {
			return a.APIGroups[0] < b.APIGroups[0]
		}
		return a.Resources[0] < b.Resources[0]
	})
	return out
}

// RulesApplier keeps the rules of one webhook current.
type RulesApplier struct {
	Client client.Client
	// ConfigName names the ValidatingWebhookConfiguration; if empty, the
	// one holding a webhook named WebhookName is used.
	ConfigName  string
	WebhookName string
}

// Apply server-side applies rules to the webhook unless they are already
// current. It owns only webhooks[name=WebhookName].rules.
func (a *RulesApplier) Apply(ctx context.Context, rules []admissionv1.RuleWithOperations) error {
	list := &admissionv1.ValidatingWebhookConfigurationList{}
	if err := a.Client.List(ctx, list); err != nil {
		return fmt.Errorf("listing validating webhook configurations: %w", err)
	}
	for _, vwc := range list.Items {
		if a.ConfigName != "" && vwc.Name != a.ConfigName {
			continue
		}
		for _, wh := range vwc.Webhooks {
			if wh.Name != a.WebhookName {
				continue
			}
			if equality.Semantic.DeepEqual(wh.Rules, rules) {
				return nil
			}
			return a.apply(ctx, vwc.Name, rules)
		}
	}
	return fmt.Errorf("no validating webhook named %q found (configuration %q)", a.WebhookName, a.ConfigName)
}

func (a *RulesApplier) apply(ctx context.Context, configName string, rules []admissionv1.RuleWithOperations) error {
	wh := admissionac.ValidatingWebhook().WithName(a.WebhookName)
	for _, r := range rules {
		wh.WithRules(admissionac.RuleWithOperations().
			WithOperations(r.Operations...).
			WithAPIGroups(r.APIGroups...).
			WithAPIVersions(r.APIVersions...).
			WithResources(r.Resources...).
			WithScope(*r.Scope))
	}
	ac := admissionac.ValidatingWebhookConfiguration(configName).WithWebhooks(wh)
	if err := a.Client.Apply(ctx, ac, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying rules of webhook %q in %q: %w", a.WebhookName, configName, err)
	}
	return nil
}
