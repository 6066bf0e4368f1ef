package setup

import (
	"context"
	"fmt"
	"sync"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/canopyhq/canopy/internal/controller/anchor"
	"github.com/canopyhq/canopy/internal/controller/hierarchy"
	"github.com/canopyhq/canopy/internal/webhook/anchors"
	hcwebhook "github.com/canopyhq/canopy/internal/webhook/hierarchy"
	"github.com/canopyhq/canopy/internal/webhook/namespaces"
)

func init() { registrations = append(registrations, registerHierarchy) }

// registerHierarchy wires the forest syncer (every replica), the hierarchy
// and anchor reconcilers (leader only) and the namespace, hierarchy and
// anchor validators (every replica).
func registerHierarchy(mgr ctrl.Manager, d Deps) error {
	if err := d.Sync.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&hierarchy.Reconciler{Client: mgr.GetClient(), Forest: d.Forest, Sync: d.Sync}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up hierarchy reconciler: %w", err)
	}
	if err := (&anchor.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Forest: d.Forest}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up anchor reconciler: %w", err)
	}
	cs, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("creating clientset: %w", err)
	}
	id := &selfIdentity{review: func(ctx context.Context) (string, error) {
		r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			return "", err
		}
		return r.Status.UserInfo.Username, nil
	}}
	namespaces.RegisterValidator(mgr, d.Forest, d.Sync, id.Is)
	// The move check judges which sources would propagate with the same
	// policy the propagation controller uses (--nopropagation-label, ...).
	pcfg, err := d.Options.Propagation.Config()
	if err != nil {
		return err
	}
	hcwebhook.Register(mgr, d.Forest, d.Sync, id.Is, hcwebhook.WithPropagationConfig(pcfg))
	anchors.Register(mgr, d.Forest, d.Sync, id.Is)
	return nil
}

// +kubebuilder:rbac:groups=authentication.k8s.io,resources=selfsubjectreviews,verbs=create

// selfIdentity learns the manager's own username once, with a
// SelfSubjectReview, so webhooks can tell the manager's requests (tree
// labels, subnamespace creation) from users'. This works the same with a
// service account in a cluster and with any other credentials in tests.
type selfIdentity struct {
	review func(ctx context.Context) (string, error)

	mu   sync.Mutex
	name string
}

// Is reports whether username is the manager's. If the review fails the
// answer is false (fail closed), and the next call retries.
func (s *selfIdentity) Is(ctx context.Context, username string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.name == "" {
		name, err := s.review(ctx)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Learning the manager's own username")
			return false
		}
		s.name = name
	}
	return username == s.name
}
