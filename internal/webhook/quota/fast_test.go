package quota

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// TestFastStatus: FastStatus answers an admission within its namespace's
// grant, and any review of an object that is no singleton, itself, as
// StatusHandler.Handle would, and hands every other review to the full
// webhook with the body unchanged: beyond the grant, at another epoch, from
// a user other than the API server's quota admission, and anything it
// cannot read.
func TestFastStatus(t *testing.T) {
	ctx := context.Background()
	_, h, _ := clampTree(t, "pods=40", map[string]string{"root": "pods=0", "a": "pods=1"})
	h.Ledgers.Cache = h.Ledgers.Reader
	v := h.Trees.TreeOf(h.Forest, "a")
	quotas, err := h.pathQuotas(ctx, v, "a")
	if err != nil {
		t.Fatal(err)
	}
	l := &quota.Ledger{Root: "root", Entries: map[quota.Key]quota.Entry{},
		Grants: map[quota.Key]quota.Grant{{Namespace: "a"}: {Up: rl(t, "pods=5"), Epoch: "ea", Cover: quota.Cover(v.Tree, quotas, "a", "")}}}
	if err := h.Ledgers.Put(ctx, ctrlquota.StoredLedger{}, l); err != nil {
		t.Fatal(err)
	}

	type review struct {
		name        string
		body        []byte
		contentType string
		fast        bool
	}
	within := reviewBody(t, "a", "ea", 1, 5, "system:apiserver", true)
	reviews := []review{
		{name: "within the grant", body: within, fast: true},
		{name: "beyond the grant", body: reviewBody(t, "a", "ea", 1, 6, "system:apiserver", true)},
		{name: "another epoch", body: reviewBody(t, "a", "eb", 1, 2, "system:apiserver", true)},
		{name: "a recount by another user", body: reviewBody(t, "a", "ea", 1, 2, "someone", true)},
		{name: "no singleton", body: reviewBody(t, "a", "ea", 1, 2, "system:apiserver", false), fast: true},
		{name: "a release's retry charging more than its first attempt", body: withReleaseMark(t, within, 3)},
		{name: "a release's retry charging what its first attempt did", body: withReleaseMark(t, within, 4), fast: true},
		{name: "not JSON", body: []byte("{not json"), contentType: "application/json"},
		{name: "another content type", body: within, contentType: "text/plain"},
	}
	for _, r := range reviews {
		t.Run(r.name, func(t *testing.T) {
			var handed []byte
			f := &FastStatus{Handler: h, Full: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				b, err := io.ReadAll(req.Body)
				if err != nil {
					t.Fatal(err)
				}
				handed = b
				w.WriteHeader(http.StatusTeapot)
			})}
			ct := r.contentType
			if ct == "" {
				ct = "application/json"
			}
			req := httptest.NewRequest(http.MethodPost, StatusPath, bytes.NewReader(r.body))
			req.Header.Set("Content-Type", ct)
			rec := httptest.NewRecorder()
			f.ServeHTTP(rec, req)
			if !r.fast {
				if rec.Code != http.StatusTeapot || !bytes.Equal(handed, r.body) {
					t.Fatalf("answered itself (%d) or handed on another body (%q), want the full webhook to get the body as sent", rec.Code, handed)
				}
				return
			}
			if handed != nil {
				t.Fatal("handed an admission within the grant to the full webhook")
			}
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("answer %q: %v", rec.Body.String(), err)
			}
			if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil ||
				out.Response.UID != "uid-1" || !out.Response.Allowed {
				t.Fatalf("answer %+v, want an allowed admission.k8s.io/v1 AdmissionReview for uid-1", out)
			}
			// The full webhook decides the same on the same review.
			var in admissionv1.AdmissionReview
			if err := json.Unmarshal(r.body, &in); err != nil {
				t.Fatal(err)
			}
			if got := h.Handle(ctx, admission.Request{AdmissionRequest: *in.Request}); !got.Allowed {
				t.Fatalf("Handle denied what FastStatus allowed: %+v", got.Result)
			}
		})
	}
}

// withReleaseMark is body with its old object marked by a release that
// denied an attempt charging grew pods, a second ago (release.go).
func withReleaseMark(t *testing.T, body []byte, grew int) []byte {
	t.Helper()
	var rev admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &rev); err != nil {
		t.Fatal(err)
	}
	old := &corev1.ResourceQuota{}
	if err := json.Unmarshal(rev.Request.OldObject.Raw, old); err != nil {
		t.Fatal(err)
	}
	ctrlquota.MarkRelease(old, old.Status.Used, &ctrlquota.ReleaseMark{Key: client.ObjectKeyFromObject(old),
		Under: ctrlquota.ReleasedUnder{Base: quota.ParseRV(old.ResourceVersion) - 1, Grew: rl(t, fmt.Sprintf("pods=%d", grew)), At: time.Now().Add(-time.Second)}}, time.Now())
	raw, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	rev.Request.OldObject.Raw = raw
	out, err := json.Marshal(rev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// reviewBody is an AdmissionReview of a singleton status update in ns from
// prev to next pods, the old object at epoch, sent by user.
func reviewBody(t *testing.T, ns, epoch string, prev, next int, user string, singleton bool) []byte {
	t.Helper()
	mk := func(n int) runtime.RawExtension {
		rq := &corev1.ResourceQuota{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: quota.UnscopedSingletonName, ResourceVersion: "7",
				Annotations: map[string]string{ctrlquota.AnnotationEpoch: epoch},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-apiserver", Operation: metav1.ManagedFieldsOperationUpdate,
					FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:status":{"f:used":{"f:pods":{}}}}`)}}},
			Spec:   corev1.ResourceQuotaSpec{Hard: rl(t, "pods=40")},
			Status: corev1.ResourceQuotaStatus{Hard: rl(t, "pods=40"), Used: rl(t, fmt.Sprintf("pods=%d", n))},
		}
		if singleton {
			rq.Labels = map[string]string{ctrlquota.LabelSingleton: "true"}
		}
		raw, err := json.Marshal(rq)
		if err != nil {
			t.Fatal(err)
		}
		return runtime.RawExtension{Raw: raw}
	}
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "uid-1", Operation: admissionv1.Update, Namespace: ns, Name: quota.UnscopedSingletonName,
			UserInfo: authnv1.UserInfo{Username: user}, Object: mk(next), OldObject: mk(prev)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
