// Package certs lets the manager issue, rotate and serve its own serving
// certificate, for the webhooks and the aggregated cost API, and inject its
// CA into the webhook configurations and the APIService.
//
// Issuing, rotating and injecting are github.com/open-policy-agent/cert-controller's
// rotator (Apache-2.0), which compiles against this module's controller-runtime
// v0.25 although it pins v0.23. It keeps a CA and a server certificate in one
// Secret of the manager's namespace, renews the server certificate when it
// comes within the lookahead of its expiry (the CA is kept, so the bundles
// the API server holds stay valid), and updates the caBundle of every webhook
// of ValidatingName and MutatingName and of the APIService.
//
// cert-controller then waits for a kubelet to mount that Secret into a
// directory. Canopy does not: Source watches the Secret and serves its newest
// valid pair from tls.Config.GetCertificate, for the webhook server and the
// cost API alike, so a rotation is served on every replica within one watch
// event, with no kubelet (tests) and no volume (clusters). Source writes the
// certificate (not the key) into a private directory only to satisfy
// cert-controller's "mounted" check.
//
// Order at start: the rotator injects the CA only after Source serves the
// Secret's certificate (cert-controller's readiness gate waits for that
// file), and the readiness check "serving-cert" passes only after both, so a
// replica is not ready, and receives no traffic through its Service, before
// it answers TLS with a certificate the injected CA verifies.
//
// Known limits of cert-controller v0.16.0, measured in test/integration/certs:
//   - every server certificate it issues has serial number 1 (and every CA
//     serial 0), so a rotation shows in the certificate's bytes, not its serial;
//   - a CA rotation (every ten years less the lookahead) replaces the bundle
//     with the new CA alone, so requests may fail until every replica serves
//     the new certificate; server-certificate rotations, the routine case,
//     keep the CA and are seamless;
//   - it needs the Secret to exist and never creates it: EnsureSecret does,
//     at start and whenever Source sees it deleted; the refilled Secret has
//     a new CA, so a deletion is a CA rotation (see above);
//   - it reads the Secret through its own cache of the manager's namespace,
//     which holds every Secret of that namespace.
//
// The webhook configurations' names are set here, for controller-gen, so the
// names the rotator patches and the names installed are one constant each:
//
// +kubebuilder:webhookconfiguration:mutating=false,name=canopy-validating
// +kubebuilder:webhookconfiguration:mutating=true,name=canopy-mutating
//
// The rotator reads and writes its Secret in the manager's namespace only,
// and updates the caBundle of the webhook configurations and the APIService
// (its cache lists and watches them):
//
// +kubebuilder:rbac:groups="",namespace=canopy-system,resources=secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations;mutatingwebhookconfigurations,verbs=get;list;watch
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations;mutatingwebhookconfigurations,verbs=update,resourceNames=canopy-validating;canopy-mutating
// +kubebuilder:rbac:groups=apiregistration.k8s.io,resources=apiservices,verbs=get;list;watch
// +kubebuilder:rbac:groups=apiregistration.k8s.io,resources=apiservices,verbs=update,resourceNames=v1alpha1.cost.canopy.dev
package certs

const (
	// ValidatingName and MutatingName are the webhook configurations'
	// names, in config/webhook and the chart.
	ValidatingName = "canopy-validating"
	MutatingName   = "canopy-mutating"
)
