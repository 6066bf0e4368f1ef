package dashboard

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/grafana"
)

var secretRef = types.NamespacedName{Namespace: "canopy-system", Name: "grafana"}

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(tenancyv1.AddToScheme(s))
	return s
}

// harness is one controller over a fake API server, a forest and the
// Grafana API double, reached through the production client.
type harness struct {
	t        *testing.T
	r        *Reconciler
	c        client.Client
	g        *testGrafana
	rec      *events.FakeRecorder
	statuses int // status applies
	now      time.Time
}

func basicAuthSecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: secretRef.Namespace, Name: secretRef.Name},
		Data:       map[string][]byte{SecretKeyUsername: []byte("admin"), SecretKeyPassword: []byte("pw")},
	}
}

// newHarness builds the harness. The forest holds acme with children
// acme-dev and acme-prod, and the foreign namespace other.
func newHarness(t *testing.T, objs ...client.Object) *harness {
	t.Helper()
	h := &harness{t: t, g: newTestGrafana(t), rec: events.NewFakeRecorder(20), now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	h.c = fake.NewClientBuilder().WithScheme(testScheme()).
		WithStatusSubresource(&tenancyv1.Tenant{}).
		WithObjects(objs...).
		WithInterceptorFuncs(interceptor.Funcs{
			SubResourceApply: func(ctx context.Context, c client.Client, sub string, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
				h.statuses++
				return c.SubResource(sub).Apply(ctx, obj, opts...)
			},
		}).Build()
	f := forest.New()
	f.Lock()
	root := f.Get("acme")
	root.SetExists(true)
	for _, n := range []string{"acme-dev", "acme-prod"} {
		ns := f.Get(n)
		ns.SetExists(true)
		ns.SetParent(root)
	}
	f.Get("other").SetExists(true)
	f.Unlock()
	h.r = &Reconciler{
		Client:   h.c,
		Reader:   h.c,
		Forest:   f,
		Recorder: h.rec,
		Config: Config{
			URL:               h.g.URL,
			PublicURL:         "https://grafana.example.com",
			CredentialsSecret: secretRef,
			Resync:            7 * time.Minute,
		},
		NewClient: h.g.newClient,
		Now:       func() time.Time { return h.now },
	}
	return h
}

func tenant(name string, mods ...func(*tenancyv1.Tenant)) *tenancyv1.Tenant {
	t := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec: tenancyv1.TenantSpec{
			Owners:         []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "alice"}},
			DeletionPolicy: tenancyv1.DeletionRetain,
		},
	}
	for _, m := range mods {
		m(t)
	}
	return t
}

func (h *harness) reconcile(name string) (ctrl.Result, error) {
	h.t.Helper()
	return h.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Name: name}})
}

func (h *harness) get(name string) *tenancyv1.Tenant {
	h.t.Helper()
	t := &tenancyv1.Tenant{}
	if err := h.c.Get(context.Background(), types.NamespacedName{Name: name}, t); err != nil {
		h.t.Fatalf("getting tenant %s: %v", name, err)
	}
	return t
}

func (h *harness) condition(name string) metav1.Condition {
	h.t.Helper()
	c := meta.FindStatusCondition(h.get(name).Status.Conditions, tenancyv1.ConditionDashboardsReady)
	if c == nil {
		h.t.Fatalf("tenant %s has no %s condition", name, tenancyv1.ConditionDashboardsReady)
	}
	return *c
}

func TestReconcileProvisionsThenMakesNoWrites(t *testing.T) {
	h := newHarness(t, basicAuthSecret(), tenant("acme"))
	res, err := h.reconcile("acme")
	if err != nil {
		t.Fatalf("first Reconcile: %v", err)
	}
	if res.RequeueAfter != 7*time.Minute {
		t.Errorf("RequeueAfter = %v, want the resync period 7m", res.RequeueAfter)
	}
	got := h.get("acme")
	if !slices.Contains(got.Finalizers, Finalizer) {
		t.Errorf("finalizers = %v, want %s", got.Finalizers, Finalizer)
	}
	c := h.condition("acme")
	if c.Status != metav1.ConditionTrue || c.Reason != ReasonSynced || c.ObservedGeneration != got.Generation {
		t.Errorf("DashboardsReady = %s/%s (generation %d), want True/%s at generation %d", c.Status, c.Reason, c.ObservedGeneration, ReasonSynced, got.Generation)
	}
	wantURL := "https://grafana.example.com/dashboards/f/" + grafana.FolderUID("acme", "acme")
	if !strings.HasPrefix(got.Status.DashboardURL, wantURL) || !strings.Contains(got.Status.DashboardURL, "orgId=") {
		t.Errorf("dashboardURL = %q, want it to start with %q and name the org", got.Status.DashboardURL, wantURL)
	}
	if diff := cmp.Diff([]string{"Main Org.", "acme"}, h.g.orgNames()); diff != "" {
		t.Errorf("Grafana orgs (-want +got):\n%s", diff)
	}
	firstWrites, firstStatuses := h.g.writeCount(), h.statuses
	if firstWrites == 0 || firstStatuses != 1 {
		t.Fatalf("first reconcile: %d Grafana writes, %d status writes; want some and 1", firstWrites, firstStatuses)
	}

	if _, err := h.reconcile("acme"); err != nil {
		t.Fatalf("second Reconcile: %v", err)
	}
	if w := h.g.writeCount() - firstWrites; w != 0 {
		t.Errorf("second reconcile made %d Grafana writes, want 0", w)
	}
	if s := h.statuses - firstStatuses; s != 0 {
		t.Errorf("second reconcile made %d status writes, want 0", s)
	}
}

func TestReconcileGrafanaUnavailable(t *testing.T) {
	h := newHarness(t, basicAuthSecret(), tenant("acme"))
	h.g.setDown(true)
	_, err := h.reconcile("acme")
	if err == nil {
		t.Fatal("Reconcile returned no error while Grafana is down; want one, so the workqueue backs off")
	}
	c := h.condition("acme")
	if c.Status != metav1.ConditionFalse || c.Reason != ReasonGrafanaUnavailable {
		t.Errorf("DashboardsReady = %s/%s, want False/%s", c.Status, c.Reason, ReasonGrafanaUnavailable)
	}
	if !strings.Contains(c.Message, h.g.URL) || !strings.Contains(c.Message, "connection refused") {
		t.Errorf("message %q should name the server and the cause", c.Message)
	}

	// Back up: the condition recovers.
	h.g.setDown(false)
	if _, err := h.reconcile("acme"); err != nil {
		t.Fatalf("Reconcile after recovery: %v", err)
	}
	if c := h.condition("acme"); c.Status != metav1.ConditionTrue {
		t.Errorf("DashboardsReady after recovery = %s/%s, want True", c.Status, c.Reason)
	}
}

func TestReconcileUsersNotFound(t *testing.T) {
	h := newHarness(t, basicAuthSecret(), tenant("acme", func(t *tenancyv1.Tenant) {
		t.Spec.Teams = []tenancyv1.Team{{Name: "dev", Namespace: "acme-dev",
			Grafana: &tenancyv1.GrafanaMembers{Members: []string{"bob", "ghost"}, Viewers: []string{"nobody@example.com"}}}}
	}))
	if _, err := h.reconcile("acme"); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	c := h.condition("acme")
	if c.Status != metav1.ConditionFalse || c.Reason != ReasonUsersNotFound {
		t.Fatalf("DashboardsReady = %s/%s, want False/%s", c.Status, c.Reason, ReasonUsersNotFound)
	}
	for _, u := range []string{"ghost", "nobody@example.com"} {
		if !strings.Contains(c.Message, u) {
			t.Errorf("message %q does not name missing user %q", c.Message, u)
		}
	}
	if strings.Contains(c.Message, "bob") {
		t.Errorf("message %q names bob, who exists", c.Message)
	}
	if h.get("acme").Status.DashboardURL == "" {
		t.Error("dashboardURL is empty; the rest should still be provisioned")
	}
}

func TestReconcileNamespacesPending(t *testing.T) {
	cases := []struct {
		name       string
		tenant     *tenancyv1.Tenant
		wantWrites bool
		wantInMsg  string
	}{{
		name:      "root missing: Grafana untouched",
		tenant:    tenant("newco"),
		wantInMsg: "newco (namespace newco)",
	}, {
		name: "team outside the tree is left out",
		tenant: tenant("acme", func(t *tenancyv1.Tenant) {
			t.Spec.Teams = []tenancyv1.Team{{Name: "dev", Namespace: "acme-dev"}, {Name: "spy", Namespace: "other"}}
		}),
		wantWrites: true,
		wantInMsg:  "spy (namespace other)",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, basicAuthSecret(), tc.tenant)
			if _, err := h.reconcile(tc.tenant.Name); err != nil {
				t.Fatalf("Reconcile: %v", err)
			}
			c := h.condition(tc.tenant.Name)
			if c.Reason != ReasonNamespacesPending || !strings.Contains(c.Message, tc.wantInMsg) {
				t.Errorf("DashboardsReady = %s/%s %q, want NamespacesPending naming %q", c.Status, c.Reason, c.Message, tc.wantInMsg)
			}
			if got := h.g.writeCount() > 0; got != tc.wantWrites {
				t.Errorf("Grafana written = %v, want %v", got, tc.wantWrites)
			}
			if tc.wantWrites {
				want := []string{grafana.FolderUID("acme", "acme"), grafana.FolderUID("acme", "dev")}
				slices.Sort(want)
				if diff := cmp.Diff(want, h.g.folderUIDs("acme")); diff != "" {
					t.Errorf("folders (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestReconcileConfigInvalid(t *testing.T) {
	token := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: secretRef.Namespace, Name: secretRef.Name},
		Data:       map[string][]byte{SecretKeyToken: []byte("glsa_x")},
	}
	cases := []struct {
		name    string
		objs    []client.Object
		wantMsg string
	}{
		{"secret missing", nil, "not found"},
		{"token without org id", []client.Object{token}, "--grafana-org-id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, append(tc.objs, tenant("acme"))...)
			res, err := h.reconcile("acme")
			if err != nil {
				t.Fatalf("Reconcile: %v; a configuration error waits for a fix, not a hot retry", err)
			}
			if res.RequeueAfter == 0 {
				t.Error("no requeue; the configuration should be retried at the resync")
			}
			c := h.condition("acme")
			if c.Reason != ReasonConfigInvalid || !strings.Contains(c.Message, tc.wantMsg) {
				t.Errorf("DashboardsReady = %s/%s %q, want ConfigInvalid mentioning %q", c.Status, c.Reason, c.Message, tc.wantMsg)
			}
			if h.g.writeCount() != 0 {
				t.Error("Grafana was written with invalid configuration")
			}
		})
	}
}

func TestCredentialsRotation(t *testing.T) {
	h := newHarness(t, basicAuthSecret(), tenant("acme"))
	var built []grafana.Config
	h.r.NewClient = func(c grafana.Config) (grafana.Client, error) {
		built = append(built, c)
		return h.g.newClient(c)
	}
	for i := 0; i < 2; i++ {
		if _, err := h.reconcile("acme"); err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
	}
	s := basicAuthSecret()
	s.Data[SecretKeyPassword] = []byte("rotated")
	h.g.setAdminPassword("rotated")
	if err := h.c.Update(context.Background(), s); err != nil {
		t.Fatalf("rotating secret: %v", err)
	}
	if _, err := h.reconcile("acme"); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	var pws []string
	for _, c := range built {
		pws = append(pws, c.Password)
	}
	if diff := cmp.Diff([]string{"pw", "rotated"}, pws); diff != "" {
		t.Errorf("clients built with passwords (-want +got):\n%s", diff)
	}
}
