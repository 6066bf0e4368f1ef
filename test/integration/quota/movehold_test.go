package quota

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// A move that fits is judged when its HierarchyConfiguration is validated
// and counts in its new tree only once stored. A pod created in the
// destination in between must count the move: here a second validating
// webhook, which the API server calls beside Canopy's, holds the move for
// three seconds after Canopy has judged it, and a pod created meanwhile in
// the full-to-be tree is refused. The quota never goes over.
func TestMoveInFlightCountsForAdmissions(t *testing.T) {
	c := admin(t)
	tree(t, "hold-x", "hold-b", "hold-b1=hold-b")
	hrq(t, "hold-b", "qb", "pods=3", "hold-b", "hold-b1")
	mustCreatePods(t, "hold-x", "p1", "p2")
	mustCreatePods(t, "hold-b1", "p1")
	waitHRQUsed(t, "hold-b", "qb", corev1.ResourcePods, 1)

	seen := hcWebhook(t, c, "hold-x", 3*time.Second, "")
	moved := make(chan error, 1)
	go func() { moved <- setParent(c, "hold-x", "hold-b1") }()
	select {
	case <-seen:
	case <-time.After(20 * time.Second):
		t.Fatal("the slow webhook never saw the move")
	}
	// Canopy's validator, called beside the slow one, has judged the move.
	time.Sleep(time.Second)
	err := createPod("hold-b1", "meanwhile")
	if err := <-moved; err != nil {
		t.Fatalf("the move, which fits: %v", err)
	}
	if err == nil {
		t.Error("a pod created while a move that fills the quota was in flight was admitted")
	} else if !strings.Contains(err.Error(), `HierarchicalResourceQuota "qb"`) {
		t.Errorf("the pod created while the move was in flight: %v, want the quota's refusal", err)
	}
	waitHRQUsed(t, "hold-b", "qb", corev1.ResourcePods, 3)
	if n := countPods(t, "hold-x", "hold-b1", "hold-b"); n != 3 {
		t.Errorf("%d pods under a quota of 3", n)
	}
}

// hcWebhook registers a second validating webhook on the
// HierarchyConfigurations of namespace ns, served by the test, which the
// API server calls beside Canopy's for the admin's requests (not the
// manager's). It answers each review after delay,
// refusing it with deny unless deny is "". The returned channel receives
// once when it first sees a review. It is removed when the test ends.
func hcWebhook(t *testing.T, c client.Client, ns string, delay time.Duration, deny string) <-chan struct{} {
	t.Helper()
	ctx := context.Background()
	seen := make(chan struct{}, 1)
	var probed atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		review := &admissionv1.AdmissionReview{}
		if err := json.Unmarshal(body, review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		obj := &metav1.PartialObjectMetadata{}
		_ = json.Unmarshal(review.Request.Object.Raw, obj)
		probe := obj.Annotations[probeAnnotation] != ""
		switch {
		case probe:
			probed.Store(true)
		default:
			select {
			case seen <- struct{}{}:
			default:
			}
			time.Sleep(delay)
		}
		resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: deny == "" || probe}
		if deny != "" && !probe {
			resp.Result = &metav1.Status{Message: deny}
		}
		review.Response, review.Request = resp, nil
		_ = json.NewEncoder(w).Encode(review)
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/hc"
	none, ignore, timeout := admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.Ignore, int32(delay/time.Second)+5
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "test-hc-" + ns},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "hc.test.canopy.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update, admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{APIGroups: []string{api.GroupVersion.Group}, APIVersions: []string{"v1alpha2"}, Resources: []string{"hierarchyconfigurations"}}}},
			MatchConditions:         []admissionregistrationv1.MatchCondition{{Name: "one-namespace", Expression: fmt.Sprintf("object.metadata.namespace == %q", ns)}, {Name: "the-test-only", Expression: "request.userInfo.username == 'platform-admin'"}},
			SideEffects:             &none,
			FailurePolicy:           &ignore,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}}}
	if err := c.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(ctx, cfg) })
	// The API server calls a new webhook only once its informer shows the
	// configuration: probe with dry runs until one reaches it.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		hc := &api.HierarchyConfiguration{}
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: api.Singleton}, hc)
		switch {
		case apierrors.IsNotFound(err):
			hc = &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: api.Singleton}}
			hc.Annotations = map[string]string{probeAnnotation: "1"}
			err = c.Create(ctx, hc, client.DryRunAll)
		case err == nil:
			if hc.Annotations == nil {
				hc.Annotations = map[string]string{}
			}
			hc.Annotations[probeAnnotation] = "1"
			err = c.Update(ctx, hc, client.DryRunAll)
		}
		if err != nil {
			return err
		}
		if !probed.Load() {
			return fmt.Errorf("the test webhook on %q is not called yet", ns)
		}
		return nil
	})
	return seen
}

// probeAnnotation marks the dry runs that find hcWebhook active.
const probeAnnotation = "test.canopy.dev/probe"
