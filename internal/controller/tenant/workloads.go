package tenant

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// +kubebuilder:rbac:groups="",resources=pods;persistentvolumeclaims,verbs=list
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=list
// +kubebuilder:rbac:groups=batch,resources=jobs;cronjobs,verbs=list

// workloadKinds are what makes a namespace "hold workloads": deleting it
// would destroy running work or data.
var workloadKinds = []struct {
	name string
	list func() client.ObjectList
}{
	{"pods", func() client.ObjectList { return &corev1.PodList{} }},
	{"persistentvolumeclaims", func() client.ObjectList { return &corev1.PersistentVolumeClaimList{} }},
	{"deployments", func() client.ObjectList { return &appsv1.DeploymentList{} }},
	{"statefulsets", func() client.ObjectList { return &appsv1.StatefulSetList{} }},
	{"daemonsets", func() client.ObjectList { return &appsv1.DaemonSetList{} }},
	{"jobs", func() client.ObjectList { return &batchv1.JobList{} }},
	{"cronjobs", func() client.ObjectList { return &batchv1.CronJobList{} }},
}

// holdings lists what each of namespaces holds, reading the API directly
// (one page of one item per kind) so the manager caches no pods. Namespaces
// that hold nothing are left out.
func holdings(ctx context.Context, r client.Reader, namespaces []string) ([]Holding, error) {
	var out []Holding
	for _, ns := range namespaces {
		h := Holding{Namespace: ns}
		for _, k := range workloadKinds {
			l := k.list()
			if err := r.List(ctx, l, client.InNamespace(ns), client.Limit(1)); err != nil {
				return nil, fmt.Errorf("listing %s in %q: %w", k.name, ns, err)
			}
			if meta.LenList(l) > 0 {
				h.Kinds = append(h.Kinds, k.name)
			}
		}
		if len(h.Kinds) > 0 {
			out = append(out, h)
		}
	}
	return out, nil
}
