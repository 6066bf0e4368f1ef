package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/canopyhq/canopy/internal/certs"
	"github.com/canopyhq/canopy/test/tools/localcanopy"
)

// HNC's e2e specs that damage HNC on purpose address it by the names of
// its installation: they delete the Deployments in hnc-system and the
// validating webhook configuration below, then re-apply the manifest
// HNC_REPAIR names. The driver gives Canopy's installation those names.
const (
	hncNamespace  = "hnc-system"
	hncWebhooks   = "hnc-validating-webhook-configuration"
	hncDeployment = "hnc-controller-manager"
)

// supervisor emulates HNC's in-cluster Deployment for bin/canopy-manager,
// which runs here as a local process (the control plane has no kubelet):
// while the Deployment exists the manager runs; deleting the Deployment
// stops it, as deleting its pods would; a new Deployment (a new UID, as
// `kubectl apply` of the repair manifest makes) starts it again, once the
// CRDs it serves are established.
type supervisor struct {
	root, dir string
	cluster   *localcanopy.Cluster
	c         client.Client
	flags     []string

	mu       sync.Mutex
	mgr      *localcanopy.Manager
	runs     int
	deployed types.UID // the Deployment the running manager belongs to
}

// installRepair renames Canopy's validating webhook configuration to
// HNC's, creates HNC's Deployment, writes the repair manifest (HNC's
// CRDs, the webhook configuration and the Deployment) to dir/repair.yaml
// and returns its path.
func installRepair(ctx context.Context, root, dir string, c client.Client) (string, error) {
	vwc := &admissionv1.ValidatingWebhookConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: certs.ValidatingName}, vwc); err != nil {
		return "", fmt.Errorf("reading Canopy's webhook configuration: %w", err)
	}
	hnc := &admissionv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: hncWebhooks},
		Webhooks:   vwc.Webhooks,
	}
	if err := c.Create(ctx, hnc.DeepCopy()); err != nil {
		return "", fmt.Errorf("creating %s: %w", hncWebhooks, err)
	}
	if err := c.Delete(ctx, vwc); err != nil {
		return "", fmt.Errorf("deleting %s: %w", certs.ValidatingName, err)
	}
	replicas := int32(0) // no kubelet runs pods here; the supervisor stands in for them
	labels := map[string]string{"app": hncDeployment}
	deploy := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: hncNamespace, Name: hncDeployment},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: "canopy-manager:local"}}},
			},
		},
	}
	if err := c.Create(ctx, deploy.DeepCopy()); err != nil {
		return "", fmt.Errorf("creating HNC's Deployment: %w", err)
	}

	var manifest bytes.Buffer
	crds, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "hnc.x-k8s.io_*.yaml"))
	if err != nil || len(crds) == 0 {
		return "", fmt.Errorf("no HNC CRDs under config/crd/bases: %v", err)
	}
	for _, p := range crds {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		manifest.WriteString("---\n")
		manifest.Write(data)
	}
	for _, obj := range []runtime.Object{hnc, deploy} {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return "", err
		}
		manifest.WriteString("---\n")
		manifest.Write(data)
	}
	path := filepath.Join(dir, "repair.yaml")
	return path, os.WriteFile(path, manifest.Bytes(), 0o644)
}

// newSupervisorClient returns a client that knows Deployments and CRDs.
func newSupervisorClient(cluster *localcanopy.Cluster) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cluster.CP.Config, client.Options{Scheme: scheme})
}

// run keeps the manager in step with the Deployment until ctx ends, then
// stops it.
func (s *supervisor) run(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if err := s.sync(ctx); err != nil {
			fmt.Println("hnc-e2e supervisor:", err)
		}
		select {
		case <-ctx.Done():
			s.stop()
			return
		case <-t.C:
		}
	}
}

// sync starts, stops or restarts the manager to match the Deployment.
func (s *supervisor) sync(ctx context.Context) error {
	d := &appsv1.Deployment{}
	err := s.c.Get(ctx, client.ObjectKey{Namespace: hncNamespace, Name: hncDeployment}, d)
	switch {
	case apierrors.IsNotFound(err):
		s.stop()
		return nil
	case err != nil:
		return err
	}
	s.mu.Lock()
	current := s.mgr != nil && s.deployed == d.UID
	s.mu.Unlock()
	if current {
		return nil
	}
	s.stop() // a Deployment replaced between two polls: a new pod
	if err := s.crdsEstablished(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs++
	mgr, err := localcanopy.StartReplica(s.root, s.dir, s.cluster, fmt.Sprintf("run-%d", s.runs), s.webhookPort(), s.flags...)
	if err != nil {
		return err
	}
	s.mgr, s.deployed = mgr, d.UID
	fmt.Printf("hnc-e2e supervisor: canopy-manager started for Deployment %s (run %d)\n", d.UID, s.runs)
	return nil
}

func (s *supervisor) webhookPort() int {
	_, port, _ := s.cluster.CP.WebhookServing()
	return port
}

// crdsEstablished is nil once every HNC CRD exists and is established: a
// pod started before would crash and be restarted until then.
func (s *supervisor) crdsEstablished(ctx context.Context) error {
	for _, kind := range []string{"hierarchyconfigurations", "subnamespaceanchors", "hncconfigurations", "hierarchicalresourcequotas"} {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := s.c.Get(ctx, client.ObjectKey{Name: kind + ".hnc.x-k8s.io"}, crd); err != nil {
			return fmt.Errorf("waiting for HNC's CRDs: %w", err)
		}
		established := false
		for _, c := range crd.Status.Conditions {
			established = established || (c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue)
		}
		if !established || crd.DeletionTimestamp != nil {
			return fmt.Errorf("waiting for CRD %s to be established", crd.Name)
		}
	}
	return nil
}

// stop stops the running manager, if any.
func (s *supervisor) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mgr == nil {
		return
	}
	s.mgr.Stop()
	s.mgr, s.deployed = nil, ""
	fmt.Printf("hnc-e2e supervisor: canopy-manager stopped (run %d)\n", s.runs)
}

// waitRunning waits until the manager runs for the current Deployment.
func (s *supervisor) waitRunning(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		running := s.mgr != nil
		s.mu.Unlock()
		if running {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("canopy-manager not running %s after start", timeout)
}
