// Package selfexclude leaves the manager's own requests out of the
// validating webhooks whose handlers allow the manager anything: objects
// (the copies it writes, repairs and deletes), SubnamespaceAnchors (their
// finalizers and status), HierarchyConfigurations (the ones it creates for
// subnamespaces) and namespaces (tree labels, subnamespace creation and
// deletion). Each such webhook gets a match condition on the request's
// username, which the API server evaluates without calling out.
//
// Sending those requests cost a round trip each, and the manager makes most
// of the writes while a tree is built or an object propagated: at 3,000
// namespaces the objects webhook took about half of a copy's 333 ms, and
// serving these webhooks was a third of the manager's CPU (docs/scale.md).
// It also lets the manager repair the tree while its webhook server is
// unavailable. Users' requests are judged as before.
//
// The manager learns its username with a SelfSubjectReview (the same
// identity the handlers compare with) and applies the conditions with
// server-side apply under its own field manager, owning only its one
// condition per webhook; the rules and any condition the installation set
// stay their owners'. Every replica applies them at start, which is
// idempotent.
package selfexclude

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	admissionac "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FieldManager owns the conditions.
const FieldManager = "canopy-self-exclusion"

// ConditionName names the match condition on each webhook.
const ConditionName = "not-canopy-manager"

// Condition is the match condition that leaves user's requests out.
func Condition(user string) admissionv1.MatchCondition {
	return admissionv1.MatchCondition{
		Name:       ConditionName,
		Expression: "request.userInfo.username != " + strconv.Quote(user),
	}
}

// Missing returns, per ValidatingWebhookConfiguration, the webhooks named in
// names that do not hold want as it is.
func Missing(configs []admissionv1.ValidatingWebhookConfiguration, names []string, want admissionv1.MatchCondition) map[string][]string {
	out := map[string][]string{}
	for _, vwc := range configs {
		for _, wh := range vwc.Webhooks {
			if slices.Contains(names, wh.Name) && !slices.Contains(wh.MatchConditions, want) {
				out[vwc.Name] = append(out[vwc.Name], wh.Name)
			}
		}
	}
	return out
}

// Applier adds the condition to the named webhooks.
type Applier struct {
	Client client.Client
	// Webhooks are the names of the webhooks to exclude the manager from.
	Webhooks []string
	// ManagerUser returns the manager's own username.
	ManagerUser func(ctx context.Context) (string, error)
}

// Apply adds the condition wherever it is missing.
func (a *Applier) Apply(ctx context.Context) error {
	user, err := a.ManagerUser(ctx)
	if err != nil {
		return err
	}
	want := Condition(user)
	list := &admissionv1.ValidatingWebhookConfigurationList{}
	if err := a.Client.List(ctx, list); err != nil {
		return fmt.Errorf("listing validating webhook configurations: %w", err)
	}
	for name, webhooks := range Missing(list.Items, a.Webhooks, want) {
		ac := admissionac.ValidatingWebhookConfiguration(name)
		for _, wh := range webhooks {
			ac.WithWebhooks(admissionac.ValidatingWebhook().WithName(wh).
				WithMatchConditions(admissionac.MatchCondition().WithName(want.Name).WithExpression(want.Expression)))
		}
		if err := a.Client.Apply(ctx, ac, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("leaving the manager's requests out of webhooks %v in %q: %w", webhooks, name, err)
		}
		ctrl.LoggerFrom(ctx).Info("Left the manager's own requests out of webhooks", "configuration", name, "webhooks", webhooks)
	}
	return nil
}

// Start applies the conditions, retrying with backoff until it succeeds or
// ctx ends. Until then the webhooks still answer the manager's requests
// (they allow them), only more slowly.
func (a *Applier) Start(ctx context.Context) error {
	backoff := wait.Backoff{Duration: time.Second, Factor: 2, Steps: 8, Cap: time.Minute}
	log := ctrl.Log.WithName("self-exclusion")
	_ = wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		if err := a.Apply(ctrl.LoggerInto(ctx, log)); err != nil {
			log.Info("Not yet leaving the manager's requests out of its webhooks", "reason", err.Error())
			return false, nil
		}
		return true, nil
	})
	return nil
}

// NeedLeaderElection is false: every replica applies the same conditions.
func (a *Applier) NeedLeaderElection() bool { return false }
