package costapi

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/request/headerrequest"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"
)

// Where the API server publishes how to trust its front proxy.
const (
	AuthConfigMapNamespace = "kube-system"
	AuthConfigMapName      = "extension-apiserver-authentication"
)

// The manager's RBAC for delegated authentication and authorization. Reading
// the ConfigMap is granted by binding the built-in Role
// extension-apiserver-authentication-reader in kube-system
// (config/costapi), as every aggregated API server does: a Role generated
// here would be moved out of kube-system by config/default's namespace.
//
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create

// Cache lifetimes of authentication and authorization decisions, as
// k8s.io/apiserver's delegating options default them.
const (
	tokenCacheTTL = 10 * time.Second
	allowCacheTTL = 10 * time.Second
	denyCacheTTL  = 10 * time.Second
)

// DelegatingAuth authenticates callers and authorizes them against the API
// server, the way an aggregated API server does.
type DelegatingAuth struct {
	Authenticator authenticator.Request
	Authorizer    authorizer.Authorizer
	ca            *dynamiccertificates.ConfigMapCAController
	headers       *headerrequest.RequestHeaderAuthRequestController
}

// NewDelegatingAuth builds the front-proxy (request header) authenticator,
// trusting the CA, allowed names and header names of the
// extension-apiserver-authentication ConfigMap, a bearer-token
// authenticator through TokenReview, and an authorizer through
// SubjectAccessReview. Call Run to follow the ConfigMap.
func NewDelegatingAuth(client kubernetes.Interface) (*DelegatingAuth, error) {
	ca, err := dynamiccertificates.NewDynamicCAFromConfigMapController("requestheader-client-ca",
		AuthConfigMapNamespace, AuthConfigMapName, "requestheader-client-ca-file", client)
	if err != nil {
		return nil, fmt.Errorf("following the request-header CA: %w", err)
	}
	headers := headerrequest.NewRequestHeaderAuthRequestController(AuthConfigMapName, AuthConfigMapNamespace, client,
		"requestheader-username-headers", "requestheader-uid-headers", "requestheader-group-headers",
		"requestheader-extra-headers-prefix", "requestheader-allowed-names")
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}
	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		TokenAccessReviewClient:  client.AuthenticationV1(),
		TokenAccessReviewTimeout: 10 * time.Second,
		WebhookRetryBackoff:      &backoff,
		CacheTTL:                 tokenCacheTTL,
		RequestHeaderConfig: &authenticatorfactory.RequestHeaderConfig{
			CAContentProvider:   ca,
			UsernameHeaders:     headerrequest.StringSliceProviderFunc(headers.UsernameHeaders),
			UIDHeaders:          headerrequest.StringSliceProviderFunc(headers.UIDHeaders),
			GroupHeaders:        headerrequest.StringSliceProviderFunc(headers.GroupHeaders),
			ExtraHeaderPrefixes: headerrequest.StringSliceProviderFunc(headers.ExtraHeaderPrefixes),
			AllowedClientNames:  headerrequest.StringSliceProviderFunc(headers.AllowedClientNames),
		},
	}.New()
	if err != nil {
		return nil, fmt.Errorf("building the delegating authenticator: %w", err)
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: client.AuthorizationV1(),
		AllowCacheTTL:             allowCacheTTL,
		DenyCacheTTL:              denyCacheTTL,
		WebhookRetryBackoff:       &backoff,
	}.New()
	if err != nil {
		return nil, fmt.Errorf("building the delegating authorizer: %w", err)
	}
	return &DelegatingAuth{Authenticator: authn, Authorizer: authz, ca: ca, headers: headers}, nil
}

// Run reads the ConfigMap once, then follows it until ctx is done. Until
// the CA is known, no front-proxy request is authenticated.
func (a *DelegatingAuth) Run(ctx context.Context) {
	_ = a.ca.RunOnce(ctx)
	_ = a.headers.RunOnce(ctx)
	go a.ca.Run(ctx, 1)
	go a.headers.Run(ctx, 1)
	<-ctx.Done()
}
