package propagation

import (
	"context"
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	authnv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/webhook/anchors"
	"github.com/canopyhq/canopy/internal/webhook/hierarchy"
	"github.com/canopyhq/canopy/internal/webhook/namespaces"
	"github.com/canopyhq/canopy/internal/webhook/objects"
	"github.com/canopyhq/canopy/internal/webhook/selfexclude"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// objectsWebhookCalls is how many requests the API server has sent to the
// objects webhook, from its own metrics.
func objectsWebhookCalls(t *testing.T) float64 {
	t.Helper()
	return env.SumAPIServerMetric(t, "apiserver_admission_webhook_request_total", func(l map[string]string) bool {
		return l["name"] == objects.WebhookName
	})
}

// selfUser is the username the manager runs as (env.Client's).
func selfUser(ctx context.Context) (string, error) {
	cs, err := kubernetes.NewForConfig(env.CP.Config)
	if err != nil {
		return "", err
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return r.Status.UserInfo.Username, nil
}

// The manager's own requests skip the validating webhooks that allowed
// them anyway (a match condition on its username): a Role at the root of
// eight children costs the objects webhook one call, the user's, not nine.
// Users' edits of copies still go through it and are denied.
func TestManagerCopiesSkipTheObjectsWebhook(t *testing.T) {
	// Every replica applies the conditions at start.
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		list := &admissionv1.ValidatingWebhookConfigurationList{}
		if err := env.Client.List(ctx, list); err != nil {
			return err
		}
		user, err := selfUser(ctx)
		if err != nil {
			return err
		}
		names := []string{objects.WebhookName, anchors.WebhookName, hierarchy.WebhookName}
		if missing := selfexclude.Missing(list.Items, append(names, namespaces.WebhookNames...), selfexclude.Condition(user)); len(missing) > 0 {
			return fmt.Errorf("webhooks without the manager's exclusion: %v", missing)
		}
		return nil
	})
	edges := [][2]string{{"wc-root", ""}}
	for i := range 8 {
		edges = append(edges, [2]string{fmt.Sprintf("wc-%d", i), "wc-root"})
	}
	tree(t, edges)
	before := objectsWebhookCalls(t)
	if err := admin(t).Create(context.Background(), role("wc-root", "readers", nil, "get")); err != nil {
		t.Fatal(err)
	}
	for _, e := range edges[1:] {
		waitCopy(t, &rbacv1.Role{}, e[0], "readers", "wc-root", nil)
	}
	if calls := objectsWebhookCalls(t) - before; calls > 2 {
		t.Errorf("propagating one Role to 8 children made %.0f objects webhook calls, want the user's create only", calls)
	}
	// A user's edit of a copy is still judged, and denied.
	cp := &rbacv1.Role{}
	ctx := context.Background()
	c := admin(t)
	if err := c.Get(ctx, client.ObjectKey{Namespace: "wc-3", Name: "readers"}, cp); err != nil {
		t.Fatal(err)
	}
	cp.Rules[0].Verbs = []string{"get", "list"}
	if err := c.Update(ctx, cp); err == nil || !strings.Contains(err.Error(), "wc-root") {
		t.Errorf("a user's edit of a copy: %v, want a denial naming the source's namespace", err)
	}
}
