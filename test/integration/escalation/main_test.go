// Package escalation is the adversarial matrix of issue 11: acting as a
// team lead of tenant esa (user alice in group esa-leads, holding exactly
// the RBAC a Tenant gives its owners), it tries every way out of the
// tenant's tree, into tenant esb's, past its quota, around what the Tenant
// generated, into esb's cost and series, and into the manager's
// privileges, and asserts each denial with the message that names its
// reason.
//
// One control plane and one manager serve every test: the manager runs
// with the cost API (aggregated through the real kube-apiserver, OpenCost
// a stand-in) and the tenant Prometheus proxy (Prometheus a stand-in that
// records what reaches it). The fixture is built once (fixture()); tests
// change only namespaces of their own.
//
// Rows that need a fix from another branch name the issue item in a
// comment; they fail until that fix lands.
package escalation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

var env *framework.Env

// realPrometheus is the URL of the real Prometheus behind the proxy.
var realPrometheus string

// TestMain is framework.Main with a real Prometheus beside the control
// plane, stopped (and its data removed) when the tests end.
func TestMain(m *testing.M) {
	url, stopProm, err := startPrometheus(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Prometheus:", err)
		os.Exit(1)
	}
	realPrometheus = url
	if env, err = framework.Start(); err != nil {
		stopProm()
		fmt.Fprintln(os.Stderr, "starting the integration environment:", err)
		os.Exit(1)
	}
	code := m.Run()
	if fix != nil && fix.grafana != nil {
		fix.grafana.Close()
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the integration environment:", err)
	}
	stopProm()
	os.Exit(code)
}

const wait = 60 * time.Second

// The two tenants and their people.
const (
	tenantA = "esa"
	tenantB = "esb"
	leadsA  = "esa-leads"
	leadsB  = "esb-leads"
	devsA   = "esa-devs"
	// labellers may also create and label namespaces: the platform lets
	// some leads do that, and the tenant label must hold against them.
	labellers = "esa-ns-labellers"
	// podQuota is tenant esa's pods quota over its whole tree.
	podQuota = 6
)

// Namespaces of tenant esa. Rows that a fix not yet on main would deny
// change state when main allows them, so each such row has a namespace of
// its own.
const (
	nsAPI      = "esa-api"       // declared
	nsStaging  = "esa-api-stg"   // declared, under esa-api
	nsBatch    = "esa-batch"     // declared; the tenant-label rows (item 7)
	nsDecl     = "esa-decl"      // declared; the declared-anchor rows (item 2)
	nsDeclKid  = "esa-decl-kid"  // declared, under esa-decl
	nsFull     = "esa-full"      // a full namespace the platform put in the tree
	nsFullHC   = "esa-full-hc"   // another, whose HierarchyConfiguration a row deletes (item 3)
	nsOutside  = "esa-outside"   // outside every tenant; the lead administers it
	nsBWeb     = "esb-web"       // declared in tenant esb
	nsLeadMade = "esa-lead-team" // a subnamespace the lead made
)

type fixtureT struct {
	admin     client.Client
	alice     client.Client // lead of esa
	aliceCfg  *rest.Config
	lena      client.Client // lead of esa who may also label namespaces
	dev       client.Client // developer of esa (view)
	bobCfg    *rest.Config  // lead of esb
	costURL   string        // OpenCost stand-in
	promURL   string        // the tenant Prometheus proxy
	prom      *promFront    // what reached Prometheus
	promToken string        // tenant esa's proxy token, as its Grafana datasource holds it
	bobToken  string        // tenant esb's
	grafana   *grafanaapi.Server
}

var (
	fixOnce sync.Once
	fix     *fixtureT
	fixErr  error
)

// fixture builds the tenants once, with every generated object in place,
// and returns the actors.
func fixture(t *testing.T) *fixtureT {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = build(t) })
	if fixErr != nil {
		t.Fatalf("building the fixture: %v", fixErr)
	}
	return fix
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: name}
}

func tenants() []*tenancyv1.Tenant {
	return []*tenancyv1.Tenant{
		{ObjectMeta: metav1.ObjectMeta{Name: tenantA}, Spec: tenancyv1.TenantSpec{
			Owners: []rbacv1.Subject{group(leadsA)},
			Namespaces: []tenancyv1.TenantNamespace{
				{Name: nsAPI}, {Name: nsStaging, Parent: nsAPI}, {Name: nsBatch},
				{Name: nsDecl}, {Name: nsDeclKid, Parent: nsDecl},
			},
			RoleBindings: []tenancyv1.TenantRoleBinding{{ClusterRole: "view", Subjects: []rbacv1.Subject{group(devsA)}}},
			Quota: &tenancyv1.TenantQuota{Hard: corev1.ResourceList{
				corev1.ResourcePods: *resource.NewQuantity(podQuota, resource.DecimalSI),
			}},
			NamespaceDefaults: &tenancyv1.NamespaceDefaults{LimitRange: &corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
				Type:           corev1.LimitTypeContainer,
				DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")},
			}}}},
			Policies: &tenancyv1.TenantPolicies{
				NetworkIsolation:  true,
				AllowedRegistries: []string{"registry.example.com"},
			},
			Subnamespaces:  &tenancyv1.SubnamespacePolicy{Max: 20},
			CostCenter:     "CC-ESA",
			DeletionPolicy: tenancyv1.DeletionRetain,
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: tenantB}, Spec: tenancyv1.TenantSpec{
			Owners:     []rbacv1.Subject{group(leadsB)},
			Namespaces: []tenancyv1.TenantNamespace{{Name: nsBWeb}},
			CostCenter: "CC-ESB",
			Policies:   &tenancyv1.TenantPolicies{NetworkIsolation: true},
		}},
	}
}

func build(t *testing.T) (*fixtureT, error) {
	ctx := context.Background()
	f := &fixtureT{admin: env.Admin(t)}
	if err := startServing(ctx, f); err != nil {
		return nil, err
	}
	if err := waitAdminAggregated(ctx, f.admin); err != nil {
		return nil, err
	}
	var err error
	if f.alice, f.aliceCfg, err = env.UserClient("alice", leadsA); err != nil {
		return nil, err
	}
	if f.lena, _, err = env.UserClient("lena", leadsA, labellers); err != nil {
		return nil, err
	}
	if f.dev, _, err = env.UserClient("dave", devsA); err != nil {
		return nil, err
	}
	if _, f.bobCfg, err = env.UserClient("bob", leadsB); err != nil {
		return nil, err
	}
	for _, tn := range tenants() {
		if err := poll(ctx, func(ctx context.Context) error {
			return client.IgnoreAlreadyExists(f.admin.Create(ctx, tn.DeepCopy()))
		}); err != nil {
			return nil, fmt.Errorf("creating Tenant %s: %w", tn.Name, err)
		}
	}
	// The labellers' grant, and an outside namespace the leads administer
	// (so a move out of the tree passes the hierarchy engine's own
	// permission check and the denial is the tenant's).
	objs := []client.Object{
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: labellers}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"namespaces"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch"},
		}}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: labellers},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: labellers},
			Subjects: []rbacv1.Subject{group(labellers)}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsOutside}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: nsOutside, Name: "esa-leads-admin"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects: []rbacv1.Subject{group(leadsA)}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsFull}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsFullHC}},
		// A platform Role at the root, propagated to the whole tree.
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: tenantA, Name: "reader"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}},
	}
	for _, o := range objs {
		if err := poll(ctx, func(ctx context.Context) error {
			return client.IgnoreAlreadyExists(f.admin.Create(ctx, o))
		}); err != nil {
			return nil, fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	for _, nm := range []string{nsFull, nsFullHC} {
		if err := setParent(ctx, f.admin, nm, tenantA); err != nil {
			return nil, err
		}
	}
	// Everything generated and propagated is in place before any row runs.
	all := []string{tenantA, nsAPI, nsStaging, nsBatch, nsDecl, nsDeclKid, nsFull, nsFullHC}
	for _, nm := range all {
		if err := waitFor(ctx, f.admin, &corev1.Namespace{}, "", nm, func(o client.Object) error {
			if got := o.GetLabels()[tenancyv1.LabelTenant]; got != tenantA {
				return fmt.Errorf("namespace %s tenant label %q", nm, got)
			}
			return nil
		}); err != nil {
			return nil, err
		}
		for _, o := range []struct {
			obj  client.Object
			name string
		}{
			{&rbacv1.RoleBinding{}, tenantctrl.OwnersBindingName},
			{&rbacv1.RoleBinding{}, tenantctrl.BindingName(0)},
			{&rbacv1.Role{}, "reader"},
		} {
			if err := waitFor(ctx, f.admin, o.obj, nm, o.name, nil); err != nil {
				return nil, err
			}
		}
		if err := waitFor(ctx, f.admin, &corev1.LimitRange{}, nm, tenantctrl.LimitRangeName, nil); err != nil {
			return nil, err
		}
	}
	for _, tn := range []string{tenantA, tenantB} {
		if err := poll(ctx, func(ctx context.Context) error {
			got := &tenancyv1.Tenant{}
			if err := f.admin.Get(ctx, client.ObjectKey{Name: tn}, got); err != nil {
				return err
			}
			if c := meta.FindStatusCondition(got.Status.Conditions, tenancyv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
				return fmt.Errorf("tenant %s not ready: %+v", tn, c)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if err := waitFor(ctx, f.admin, &corev1.Namespace{}, "", nsBWeb, func(o client.Object) error {
		if o.GetLabels()[tenancyv1.LabelTenant] != tenantB {
			return fmt.Errorf("esb-web not labelled yet")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if f.promToken, err = datasourceToken(ctx, f.grafana, tenantA); err != nil {
		return nil, err
	}
	if f.bobToken, err = datasourceToken(ctx, f.grafana, tenantB); err != nil {
		return nil, err
	}
	// A subnamespace the lead made: that much is the lead's to do.
	if err := poll(ctx, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(f.alice.Create(ctx, &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: nsAPI, Name: nsLeadMade}}))
	}); err != nil {
		return nil, fmt.Errorf("the lead creating a subnamespace: %w", err)
	}
	return f, nil
}

// waitAdminAggregated waits until kube-controller-manager has folded HNC's
// verbs into the admin ClusterRole, as in a real installation.
func waitAdminAggregated(ctx context.Context, c client.Client) error {
	return poll(ctx, func(ctx context.Context) error {
		admin := &rbacv1.ClusterRole{}
		if err := c.Get(ctx, client.ObjectKey{Name: "admin"}, admin); err != nil {
			return err
		}
		for _, r := range admin.Rules {
			if slices.Contains(r.APIGroups, hncv1.GroupVersion.Group) && slices.Contains(r.Resources, "subnamespaceanchors") {
				return nil
			}
		}
		return errors.New("HNC's verbs not yet aggregated into admin")
	})
}

// setParent makes nm a child of parent, as the platform team.
func setParent(ctx context.Context, c client.Client, nm, parent string) error {
	return poll(ctx, func(ctx context.Context) error {
		return framework.SetParent(ctx, c, nm, parent)
	})
}

// poll retries fn until it succeeds or wait passes.
func poll(ctx context.Context, fn func(context.Context) error) error {
	return pollFor(ctx, wait, fn)
}

// pollFor retries fn until it succeeds or timeout passes.
func pollFor(ctx context.Context, timeout time.Duration, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = fn(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %v: %w", timeout, last)
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// waitFor waits until obj ns/name exists and check (if any) passes.
func waitFor(ctx context.Context, c client.Client, obj client.Object, ns, name string, check func(client.Object) error) error {
	return poll(ctx, func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			return fmt.Errorf("%T %s/%s: %w", obj, ns, name, err)
		}
		if check != nil {
			return check(obj)
		}
		return nil
	})
}
