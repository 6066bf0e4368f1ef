package fleet

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	ciav1 "sigs.k8s.io/cluster-inventory-api/apis/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// How members are registered on the hub. Both kinds live in the fleet
// namespace (the manager's unless --fleet-namespace says otherwise).
const (
	// LabelMemberSecret marks a kubeconfig Secret as a member: the member is
	// named after the Secret and carries the Secret's other labels.
	LabelMemberSecret = "tenancy.canopy.dev/fleet-member"
	// AnnotationKubeconfigSecret on a ClusterProfile names the Secret, in
	// the profile's namespace, holding the member's kubeconfig.
	AnnotationKubeconfigSecret = "tenancy.canopy.dev/kubeconfig-secret"
	// KubeconfigKey is the Secret key holding the kubeconfig, for both.
	KubeconfigKey = "kubeconfig"
	// OpenCostURLKey is the optional key, in the same Secret, holding the
	// URL of the member's OpenCost as the hub reaches it.
	OpenCostURLKey = "opencost-url"
	// PropertyOpenCostURL is the ClusterProfile property (status.properties)
	// holding the URL of the member's OpenCost; it wins over the Secret key.
	PropertyOpenCostURL = "opencost.canopy.dev/url"

	sourceSecret  = "kubeconfig Secret"
	sourceProfile = "ClusterProfile"
)

// +kubebuilder:rbac:groups=multicluster.x-k8s.io,resources=clusterprofiles,verbs=get;list
// +kubebuilder:rbac:groups="",namespace=canopy-system,resources=secrets,verbs=get;list

// Registrar keeps the provider's inventory equal to the registrations in
// the fleet namespace, reading them from the API server every Interval (no
// cache of Secrets). Each round also retries members that failed to
// connect, each on its own, so one unreachable member does not hold up
// the others.
type Registrar struct {
	// Reader reads the hub's API server directly.
	Reader    client.Reader
	Provider  *Provider
	Namespace string
	Interval  time.Duration
}

// NeedLeaderElection: only the leader connects members.
func (r *Registrar) NeedLeaderElection() bool { return true }

// Start runs rounds until ctx ends.
func (r *Registrar) Start(ctx context.Context) error {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		r.Round(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type registration struct {
	source, name string
	labels       map[string]string
	kubeconfig   []byte
	opencostURL  string
}

// Round reads every registration once and brings the provider in line.
func (r *Registrar) Round(ctx context.Context) {
	log := r.Provider.log
	regs, complete := r.read(ctx)
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for _, g := range regs {
		seen[g.name] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.Provider.Upsert(ctx, g.source, g.name, g.labels, g.kubeconfig)
			r.Provider.SetOpenCostURL(g.source, g.name, g.opencostURL)
			if err != nil {
				log.Info("Member not connected", "cluster", g.name, "source", g.source, "error", err.Error())
			}
		}()
	}
	wg.Wait()
	if !complete {
		return // never unregister on a partial read
	}
	for _, m := range r.Provider.Members() {
		if !seen[m.Name] {
			r.Provider.Delete(sourceSecret, m.Name)
			r.Provider.Delete(sourceProfile, m.Name)
		}
	}
}

// OpenCostURLs reads the registrations in namespace and returns the URL of
// each member's OpenCost (ClusterProfile property PropertyOpenCostURL, or
// key OpenCostURLKey of the member's kubeconfig Secret), by member name.
// complete is false when some registration could not be read.
func OpenCostURLs(ctx context.Context, reader client.Reader, namespace string, log logr.Logger) (urls map[string]string, complete bool) {
	r := &Registrar{Reader: reader, Namespace: namespace, Provider: &Provider{log: log}}
	regs, complete := r.read(ctx)
	urls = map[string]string{}
	for _, g := range regs {
		if g.opencostURL != "" {
			urls[g.name] = g.opencostURL
		}
	}
	return urls, complete
}

func (r *Registrar) read(ctx context.Context) ([]registration, bool) {
	log := r.Provider.log
	complete := true
	var out []registration
	secrets := &corev1.SecretList{}
	if err := r.Reader.List(ctx, secrets, client.InNamespace(r.Namespace), client.HasLabels{LabelMemberSecret}); err != nil {
		log.Error(err, "Listing member kubeconfig Secrets")
		complete = false
	}
	for _, s := range secrets.Items {
		labels := maps.Clone(s.Labels)
		delete(labels, LabelMemberSecret)
		out = append(out, registration{source: sourceSecret, name: s.Name, labels: labels, kubeconfig: s.Data[KubeconfigKey],
			opencostURL: string(s.Data[OpenCostURLKey])})
	}
	profiles := &ciav1.ClusterProfileList{}
	if err := r.Reader.List(ctx, profiles, client.InNamespace(r.Namespace)); err != nil {
		if meta.IsNoMatchError(err) {
			return out, complete // the ClusterProfile CRD is not installed
		}
		log.Error(err, "Listing ClusterProfiles")
		return out, false
	}
	for _, p := range profiles.Items {
		s, err := r.profileSecret(ctx, &p)
		if err != nil {
			log.Info("ClusterProfile has no usable kubeconfig", "profile", p.Name, "error", err.Error())
			complete = false
			continue
		}
		url := string(s.Data[OpenCostURLKey])
		for _, prop := range p.Status.Properties {
			if prop.Name == PropertyOpenCostURL {
				url = prop.Value
			}
		}
		out = append(out, registration{source: sourceProfile, name: p.Name, labels: maps.Clone(p.Labels), kubeconfig: s.Data[KubeconfigKey], opencostURL: url})
	}
	return out, complete
}

// profileSecret returns the Secret profile p names, which holds a kubeconfig.
func (r *Registrar) profileSecret(ctx context.Context, p *ciav1.ClusterProfile) (*corev1.Secret, error) {
	name := p.Annotations[AnnotationKubeconfigSecret]
	if name == "" {
		return nil, fmt.Errorf("annotation %s is not set", AnnotationKubeconfigSecret)
	}
	s := &corev1.Secret{}
	if err := r.Reader.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret %s/%s not found", p.Namespace, name)
		}
		return nil, err
	}
	if len(s.Data[KubeconfigKey]) == 0 {
		return nil, fmt.Errorf("secret %s/%s has no %q key", p.Namespace, name, KubeconfigKey)
	}
	return s, nil
}
