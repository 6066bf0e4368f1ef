package quota

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Recounts of services and claims. Like PodUsage, these compute what kube's
// evaluators charge, erring towards less where they cannot tell, so that a
// live count never blocks a true recount.

// The service names kube's service evaluator charges besides services.
const (
	ResourceLoadBalancers = corev1.ResourceServicesLoadBalancers
	ResourceNodePorts     = corev1.ResourceServicesNodePorts
)

// storageClassSuffix ends the per-class names of claims:
// <class>.storageclass.storage.k8s.io/requests.storage and
// <class>.storageclass.storage.k8s.io/persistentvolumeclaims.
const storageClassSuffix = ".storageclass.storage.k8s.io/"

// betaStorageClassAnnotation is the claim annotation kube still reads
// before spec.storageClassName.
const betaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"

// IsServiceResource reports whether name is charged by services beyond
// their count: load balancers and node ports.
func IsServiceResource(name corev1.ResourceName) bool {
	return name == ResourceLoadBalancers || name == ResourceNodePorts
}

// IsClaimResource reports whether name is charged by persistent volume
// claims beyond their plain count: requests.storage, and the per storage
// class storage and count.
func IsClaimResource(name corev1.ResourceName) bool {
	if name == corev1.ResourceRequestsStorage {
		return true
	}
	_, rest, ok := strings.Cut(string(name), storageClassSuffix)
	return ok && (rest == string(corev1.ResourceRequestsStorage) || rest == string(corev1.ResourcePersistentVolumeClaims))
}

// ServiceUsage is what kube's service evaluator charges for svcs: one
// load balancer per service of type LoadBalancer, and one node port per
// port that holds one, in services of type NodePort or LoadBalancer.
func ServiceUsage(svcs []corev1.Service) corev1.ResourceList {
	var lbs, ports int64
	for _, s := range svcs {
		switch s.Spec.Type {
		case corev1.ServiceTypeLoadBalancer:
			lbs++
		case corev1.ServiceTypeNodePort:
		default:
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.NodePort != 0 {
				ports++
			}
		}
	}
	return corev1.ResourceList{
		ResourceLoadBalancers: *resource.NewQuantity(lbs, resource.DecimalSI),
		ResourceNodePorts:     *resource.NewQuantity(ports, resource.DecimalSI),
	}
}

// ClaimUsage is what kube's claim evaluator charges for claims, at least:
// requests.storage from each claim's spec (kube charges the larger of the
// spec and the allocated size, so this never exceeds it), and per storage
// class the storage and the count.
func ClaimUsage(claims []corev1.PersistentVolumeClaim) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourceRequestsStorage: resource.MustParse("0")}
	add := func(name corev1.ResourceName, q resource.Quantity) {
		cur := out[name]
		cur.Add(q)
		out[name] = cur
	}
	for _, c := range claims {
		storage := c.Spec.Resources.Requests[corev1.ResourceStorage]
		add(corev1.ResourceRequestsStorage, storage)
		if class := claimClass(c); class != "" {
			prefix := class + storageClassSuffix
			add(corev1.ResourceName(prefix+string(corev1.ResourceRequestsStorage)), storage)
			add(corev1.ResourceName(prefix+string(corev1.ResourcePersistentVolumeClaims)), *resource.NewQuantity(1, resource.DecimalSI))
		}
	}
	return out
}

// claimClass is the claim's storage class as kube's evaluator reads it:
// the beta annotation first, then spec.storageClassName.
func claimClass(c corev1.PersistentVolumeClaim) string {
	if class, ok := c.Annotations[betaStorageClassAnnotation]; ok {
		return class
	}
	if c.Spec.StorageClassName != nil {
		return *c.Spec.StorageClassName
	}
	return ""
}
