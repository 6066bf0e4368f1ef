package setup

import (
	"context"
	"fmt"
	"slices"
	"sync"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/canopyhq/canopy/internal/webhook/anchors"
	hcwebhook "github.com/canopyhq/canopy/internal/webhook/hierarchy"
	"github.com/canopyhq/canopy/internal/webhook/namespaces"
	"github.com/canopyhq/canopy/internal/webhook/objects"
	"github.com/canopyhq/canopy/internal/webhook/selfexclude"
)

func init() { registrations = append(registrations, registerSelfExclusion) }

// +kubebuilder:rbac:groups=authentication.k8s.io,resources=selfsubjectreviews,verbs=create

// selfIdentity learns the manager's own username once, with a
// SelfSubjectReview, so webhooks can tell the manager's requests (tree
// labels, subnamespace creation) from users'. This works the same with a
// service account in a cluster and with any other credentials in tests.
// One is shared by every webhook of the process (Deps.Self).
type selfIdentity struct {
	review func(ctx context.Context) (string, error)

	mu   sync.Mutex
	name string
}

func newSelfIdentity(cfg *rest.Config) (*selfIdentity, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating clientset: %w", err)
	}
	return &selfIdentity{review: func(ctx context.Context) (string, error) {
		r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			return "", fmt.Errorf("reviewing the manager's own identity: %w", err)
		}
		return r.Status.UserInfo.Username, nil
	}}, nil
}

// Is reports whether username is the manager's. If the review fails the
// answer is false (fail closed), and the next call retries.
func (s *selfIdentity) Is(ctx context.Context, username string) bool {
	name, err := s.Name(ctx)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Learning the manager's own username")
		return false
	}
	return username == name
}

// Name returns the manager's username, learning it on the first call; a
// failed review is retried on the next call.
func (s *selfIdentity) Name(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.name == "" {
		name, err := s.review(ctx)
		if err != nil {
			return "", err
		}
		s.name = name
	}
	return s.name, nil
}

// selfExcludedWebhooks are the validating webhooks whose handlers allow the
// manager's own requests whatever they are; the manager's requests skip
// them (internal/webhook/selfexclude).
func selfExcludedWebhooks() []string {
	return slices.Concat([]string{objects.WebhookName, anchors.WebhookName, hcwebhook.WebhookName}, namespaces.WebhookNames)
}

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=get;list;watch;patch

// registerSelfExclusion leaves the manager's own requests out of
// selfExcludedWebhooks, on every replica.
func registerSelfExclusion(mgr ctrl.Manager, d Deps) error {
	if err := mgr.Add(&selfexclude.Applier{Client: mgr.GetClient(), Webhooks: selfExcludedWebhooks(), ManagerUser: d.Self.Name}); err != nil {
		return fmt.Errorf("adding the webhooks' self-exclusion: %w", err)
	}
	return nil
}
