package escalation

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// notHeld is the RBAC escalation check's refusal.
var notHeld = q(`user "alice" (groups=["esa-leads" "system:authenticated"]) is attempting to grant RBAC permissions not currently held`)

func binding(ns, name, clusterRole string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects:   subjects,
	}
}

// TestLeadCannotBorrowPrivileges tries to bind cluster-admin, or the
// manager's own ClusterRole, to the lead, and to act as someone else.
func TestLeadCannotBorrowPrivileges(t *testing.T) {
	f := fixture(t)
	ctx := context.Background()
	// The manager's ClusterRole, as an installation has it.
	if err := controlplane.InstallFiles(ctx, f.admin, filepath.Join(framework.RepoRoot(), "config", "rbac", "role.yaml")); err != nil {
		t.Fatal(err)
	}
	alice := f.alice
	self := rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}
	managerNS := setup.DefaultOptions().Forest.ManagerNamespace
	impersonating := func(user string, groups ...string) error {
		cfg := rest.CopyConfig(f.aliceCfg)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		_, err = cs.CoreV1().Secrets(managerNS).List(ctx, metav1.ListOptions{})
		return err
	}
	run(t, []row{
		{name: "cluster-admin bound to themselves in their namespace",
			try: func(ctx context.Context) error {
				return alice.Create(ctx, binding(nsAPI, "me-admin", "cluster-admin", self))
			},
			want: notHeld},
		{name: "cluster-admin bound to their group at the root (would propagate)",
			try: func(ctx context.Context) error {
				return alice.Create(ctx, binding(tenantA, "leads-admin", "cluster-admin", group(leadsA)))
			},
			want: notHeld},
		{name: "the manager's ClusterRole bound to themselves",
			try: func(ctx context.Context) error {
				return alice.Create(ctx, binding(nsAPI, "me-manager", "canopy-manager", self))
			},
			want: notHeld},
		{name: "a Role granting everything",
			try: func(ctx context.Context) error {
				return alice.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: nsAPI, Name: "everything"},
					Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}})
			},
			want: notHeld},
		{name: "cluster-admin bound cluster-wide",
			try: func(ctx context.Context) error {
				return alice.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-admin"},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
					Subjects: []rbacv1.Subject{self}})
			},
			want: rbacDenied("alice", "create", "clusterrolebindings")},
		{name: "impersonating a cluster admin",
			try:  func(context.Context) error { return impersonating("root", "system:masters") },
			want: q(`User "alice" cannot impersonate`)},
		{name: "impersonating the manager's service account",
			try: func(context.Context) error {
				return impersonating("system:serviceaccount:" + managerNS + ":canopy-manager")
			},
			want: q(`User "alice" cannot impersonate`)},
		{name: "a token for the manager's service account",
			try: func(ctx context.Context) error {
				cs, err := kubernetes.NewForConfig(f.aliceCfg)
				if err != nil {
					return err
				}
				_, err = cs.CoreV1().ServiceAccounts(managerNS).CreateToken(ctx, "canopy-manager", &authnv1.TokenRequest{}, metav1.CreateOptions{})
				return err
			},
			want: rbacDenied("alice", "create", "serviceaccounts/token")},
		{name: "the manager's Secrets",
			try: func(ctx context.Context) error {
				return alice.List(ctx, &corev1.SecretList{}, client.InNamespace(managerNS))
			},
			want: rbacDenied("alice", "list", "secrets")},
	})
}

// TestPropagatedRoleBindingCannotBeRepointed is item 9: the platform binds
// developers at the root to a Role it keeps at the root only; the lead
// creates a Role of that name, with more rules, in a descendant, hoping the
// propagated RoleBinding there resolves to it. Canopy must not let it:
// either the lead's Role is refused, or the binding is not propagated
// there (and a condition says why); either way the developers gain nothing.
func TestPropagatedRoleBindingCannotBeRepointed(t *testing.T) {
	f := fixture(t)
	ctx := context.Background()
	const role, rbName = "deployer", "deployers"
	for _, o := range []client.Object{
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: tenantA, Name: role,
			Annotations: map[string]string{hncv1.AnnotationNoneSelector: "true"}},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: tenantA, Name: rbName},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
			Subjects: []rbacv1.Subject{group(devsA)}},
	} {
		if err := f.admin.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitFor(ctx, f.admin, &rbacv1.RoleBinding{}, nsStaging, rbName, nil); err != nil {
		t.Fatalf("the platform's RoleBinding did not propagate: %v", err)
	}
	// The developer reads no Secrets (view) before.
	devReadsSecrets := func(ctx context.Context) error {
		return f.dev.List(ctx, &corev1.SecretList{}, client.InNamespace(nsStaging))
	}
	if err := devReadsSecrets(ctx); !apierrors.IsForbidden(err) {
		t.Fatalf("the developer listing Secrets before the attempt: %v, want forbidden", err)
	}

	// Item 9.
	err := f.alice.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: nsStaging, Name: role},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}}})
	if err != nil {
		// Refused outright: the refusal names the Role.
		expectDenied(t, err, q(fmt.Sprintf("%q", role)))
		return
	}
	// Allowed: the binding must leave nsStaging, and a condition on its
	// HierarchyConfiguration must name the Role.
	if err := pollFor(ctx, 20*time.Second, func(ctx context.Context) error {
		rb := &rbacv1.RoleBinding{}
		switch err := get(ctx, rb, nsStaging, rbName); {
		case err == nil:
			return fmt.Errorf("the propagated RoleBinding %s/%s still binds %v to the lead's Role %q", nsStaging, rbName, rb.Subjects, role)
		case !apierrors.IsNotFound(err):
			return err
		}
		return hcConditionNames(ctx, nsStaging, role)
	}); err != nil {
		t.Error(err)
	}
	// Whatever the bookkeeping, the developer must not read Secrets.
	if err := devReadsSecrets(ctx); err == nil {
		t.Errorf("the developer lists Secrets in %s through the lead's Role %q", nsStaging, role)
	} else if !apierrors.IsForbidden(err) {
		t.Errorf("the developer listing Secrets: %v, want forbidden", err)
	}
}

// hcConditionNames checks ns's HierarchyConfiguration has a condition
// whose message names what.
func hcConditionNames(ctx context.Context, ns, what string) error {
	hc := &hncv1.HierarchyConfiguration{}
	if err := get(ctx, hc, ns, hncv1.Singleton); err != nil {
		return err
	}
	for _, c := range hc.Status.Conditions {
		if strings.Contains(c.Message, fmt.Sprintf("%q", what)) || strings.Contains(c.Message, what) {
			return nil
		}
	}
	return fmt.Errorf("no condition on %s's HierarchyConfiguration names %q: %+v", ns, what, hc.Status.Conditions)
}
