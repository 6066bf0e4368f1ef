package quota

import (
	"encoding/json"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// singletonReview is an AdmissionReview of a singleton's status update as
// the API server sends it: the singleton twice, each with the
// managedFields of the writers a singleton has.
func singletonReview(b testing.TB) []byte {
	b.Helper()
	mf := func(manager, sub, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
			Subresource: sub, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields)}
	}
	mk := func(used string) runtime.RawExtension {
		rq := &corev1.ResourceQuota{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a-ci", Name: quota.UnscopedSingletonName, ResourceVersion: "123456",
				UID: "0b7c9a52-1f0e-4d7b-9a51-1c2d3e4f5a6b", CreationTimestamp: metav1.Now(),
				Labels:      map[string]string{ctrlquota.LabelSingleton: "true", "app.kubernetes.io/managed-by": "canopy"},
				Annotations: map[string]string{ctrlquota.AnnotationEpoch: "3dff444a-c444-45da-be93-3c37bca60a1b"},
				ManagedFields: []metav1.ManagedFieldsEntry{
					mf("canopy-manager", "", `{"f:metadata":{"f:annotations":{".":{},"f:canopy.dev/quota-epoch":{}},"f:labels":{".":{},"f:app.kubernetes.io/managed-by":{},"f:canopy.dev/quota-singleton":{}}},"f:spec":{"f:hard":{".":{},"f:pods":{},"f:requests.cpu":{},"f:requests.memory":{}}}}`),
					mf("kube-controller-manager", "status", `{"f:status":{"f:hard":{".":{},"f:pods":{},"f:requests.cpu":{},"f:requests.memory":{}},"f:used":{".":{},"f:pods":{},"f:requests.cpu":{},"f:requests.memory":{}}}}`),
					mf("kube-apiserver", "status", `{"f:status":{"f:used":{"f:pods":{},"f:requests.cpu":{},"f:requests.memory":{}}}}`),
					mf("canopy-quota-release", "status", `{"f:status":{"f:used":{"f:pods":{}}}}`),
				}},
			Spec:   corev1.ResourceQuotaSpec{Hard: rl(b, "pods=100,requests.cpu=20,requests.memory=64Gi")},
			Status: corev1.ResourceQuotaStatus{Hard: rl(b, "pods=100,requests.cpu=20,requests.memory=64Gi"), Used: rl(b, used)},
		}
		raw, err := json.Marshal(rq)
		if err != nil {
			b.Fatal(err)
		}
		return runtime.RawExtension{Raw: raw}
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "uid-1", Operation: admissionv1.Update, Namespace: "team-a-ci",
			Name: quota.UnscopedSingletonName, SubResource: "status",
			UserInfo: authnv1.UserInfo{Username: "system:apiserver", UID: "f4b0", Groups: []string{"system:authenticated", "system:masters"}},
			Object:   mk("pods=13,requests.cpu=2500m,requests.memory=6Gi"), OldObject: mk("pods=12,requests.cpu=2,requests.memory=5Gi")},
	})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func BenchmarkDecodeReview(b *testing.B) {
	body := singletonReview(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var rev leanReview
		if err := decodeReview(body, &rev); err != nil || rev.Request == nil {
			b.Fatal(err)
		}
	}
}
