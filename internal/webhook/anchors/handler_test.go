package anchors

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/forestsync"
)

// Before the forest has loaded, users are told Canopy is starting, while
// the manager's own requests pass.
func TestHandleBeforeLoad(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := api.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	f := forest.New()
	v := &validator{
		forest:    f,
		sync:      forestsync.New(f),
		isManager: func(_ context.Context, user string) bool { return user == "manager" },
		decoder:   admission.NewDecoder(scheme),
	}
	raw, err := json.Marshal(&api.SubnamespaceAnchor{TypeMeta: metav1.TypeMeta{APIVersion: api.GroupVersion.String(), Kind: "SubnamespaceAnchor"}, ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "c"}})
	if err != nil {
		t.Fatal(err)
	}
	req := func(user string) admission.Request {
		return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			Operation: admissionv1.Create, Namespace: "p", Name: "c",
			Object:   runtime.RawExtension{Raw: raw},
			UserInfo: authnv1.UserInfo{Username: user},
		}}
	}
	resp := v.Handle(context.Background(), req("alice"))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "Canopy is starting") {
		t.Errorf("user before load: allowed=%v message=%q, want a 'Canopy is starting' denial", resp.Allowed, resp.Result.Message)
	}
	if resp := v.Handle(context.Background(), req("manager")); !resp.Allowed {
		t.Errorf("manager before load denied: %q", resp.Result.Message)
	}
}
