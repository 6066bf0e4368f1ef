package selfexclude

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCondition(t *testing.T) {
	got := Condition(`system:serviceaccount:canopy-system:canopy "x"`)
	want := `request.userInfo.username != "system:serviceaccount:canopy-system:canopy \"x\""`
	if got.Name != ConditionName || got.Expression != want {
		t.Errorf("condition = %+v, want %s: %s", got, ConditionName, want)
	}
}

func TestMissing(t *testing.T) {
	want := Condition("canopy")
	other := admissionv1.MatchCondition{Name: "in-tree", Expression: "true"}
	stale := Condition("old-user")
	vwc := func(name string, webhooks ...admissionv1.ValidatingWebhook) admissionv1.ValidatingWebhookConfiguration {
		return admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}, Webhooks: webhooks}
	}
	wh := func(name string, conds ...admissionv1.MatchCondition) admissionv1.ValidatingWebhook {
		return admissionv1.ValidatingWebhook{Name: name, MatchConditions: conds}
	}
	configs := []admissionv1.ValidatingWebhookConfiguration{
		vwc("canopy-validating",
			wh("objects", other, want), // current beside the installation's own condition
			wh("anchors"),              // none yet
			wh("namespaces", stale),    // another username
			wh("tenants"),              // not one of ours to exclude
		),
		vwc("other-product", wh("hierarchy")),
	}
	got := Missing(configs, []string{"objects", "anchors", "namespaces", "hierarchy"}, want)
	if diff := cmp.Diff(map[string][]string{"canopy-validating": {"anchors", "namespaces"}, "other-product": {"hierarchy"}}, got); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
}
