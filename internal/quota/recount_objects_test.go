package quota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestServiceUsage(t *testing.T) {
	port := func(nodePort int32) corev1.ServicePort { return corev1.ServicePort{Port: 80, NodePort: nodePort} }
	svcs := []corev1.Service{
		{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{port(30001), port(30002)}}},
		// allocateLoadBalancerNodePorts: false leaves its ports without one.
		{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{port(0)}}},
		{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{port(30003)}}},
		{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{port(0)}}},
		{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName}},
	}
	got := ServiceUsage(svcs)
	if lb, np := got[ResourceLoadBalancers], got[ResourceNodePorts]; lb.Value() != 2 || np.Value() != 3 {
		t.Errorf("load balancers %s, node ports %s; want 2 and 3", lb.String(), np.String())
	}
	if got := ServiceUsage(nil); String(got) != "services.loadbalancers=0,services.nodeports=0" {
		t.Errorf("no services: %s", String(got))
	}
}

func TestClaimUsage(t *testing.T) {
	gold, silver := "gold", "silver"
	claim := func(size string, class *string, annotated string) corev1.PersistentVolumeClaim {
		c := corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: class,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}}}
		if annotated != "" {
			c.ObjectMeta = metav1.ObjectMeta{Annotations: map[string]string{betaStorageClassAnnotation: annotated}}
		}
		return c
	}
	got := ClaimUsage([]corev1.PersistentVolumeClaim{
		claim("1Gi", &gold, ""), claim("2Gi", &gold, ""), claim("5Gi", nil, ""),
		// The beta annotation wins over the spec, as in kube's evaluator.
		claim("3Gi", &gold, silver),
	})
	want := map[corev1.ResourceName]string{
		corev1.ResourceRequestsStorage:                              "11Gi",
		"gold.storageclass.storage.k8s.io/requests.storage":         "3Gi",
		"gold.storageclass.storage.k8s.io/persistentvolumeclaims":   "2",
		"silver.storageclass.storage.k8s.io/requests.storage":       "3Gi",
		"silver.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
	}
	for name, w := range want {
		if q := got[name]; q.Cmp(resource.MustParse(w)) != 0 {
			t.Errorf("%s = %s, want %s", name, q.String(), w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("names %s, want only %d", String(got), len(want))
	}
}

func TestIsClaimAndServiceResource(t *testing.T) {
	for name, want := range map[corev1.ResourceName][2]bool{
		"requests.storage": {true, false},
		"gold.storageclass.storage.k8s.io/requests.storage":       {true, false},
		"gold.storageclass.storage.k8s.io/persistentvolumeclaims": {true, false},
		"gold.storageclass.storage.k8s.io/limits.storage":         {false, false},
		"persistentvolumeclaims":                                  {false, false},
		"services.loadbalancers":                                  {false, true},
		"services.nodeports":                                      {false, true},
		"services":                                                {false, false},
		"requests.cpu":                                            {false, false},
	} {
		if got := [2]bool{IsClaimResource(name), IsServiceResource(name)}; got != want {
			t.Errorf("%s: claim, service = %v, want %v", name, got, want)
		}
	}
}
