package cost

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/costdemo"
)

// The world of this test: two member clusters with the same Tenants, each
// with one node; every pod runs on its node for the whole backfilled
// history, using half of what it requests, so OpenCost charges the
// requests. At 0.25 per core-hour and 0.125 per GiB-hour, a pod costs per
// day 6 per requested core and 3 per requested GiB, and a node 6 per core
// and 3 per GiB.
type world struct {
	// cluster is the member's name in the fleet.
	cluster string
	node    string
	cores   int64
	memGiB  int64
	pods    []podFixture
}

type podFixture struct {
	namespace, name string
	milliCPU        int64
	memGiB          int64
}

// memberA is the cluster every single-cluster check runs on: 8 cores and
// 32 GiB, 144 a day (expect_test.go works its figures out).
var memberA = world{cluster: "member-a", node: "node-a", cores: 8, memGiB: 32, pods: []podFixture{
	{"payments-api", "api-0", 1000, 2},            // 6 + 6 = 12 a day
	{"payments-api-staging", "staging-0", 500, 1}, // 3 + 3 = 6
	{"payments-batch", "batch-0", 1000, 4},        // 6 + 12 = 18
	{"search-index", "index-0", 1000, 1},          // 6 + 3 = 9
	{"search-query", "query-0", 500, 2},           // 3 + 6 = 9
	{sharedNamespace, "prometheus-0", 500, 1},     // 3 + 3 = 6
	{unattributedNamespace, "legacy-0", 500, 1},   // 3 + 3 = 6
}}

// memberB is the fleet's second member, with its own OpenCost: a smaller
// node and other pods, so that its cost differs from member A's in every
// line. 4 cores and 16 GiB, 72 a day, 30 of it idle.
var memberB = world{cluster: "member-b", node: "node-b", cores: 4, memGiB: 16, pods: []podFixture{
	{"payments-api", "api-0", 2000, 4},        // 12 + 12 = 24 a day
	{"search-query", "query-0", 1000, 2},      // 6 + 6 = 12
	{sharedNamespace, "prometheus-0", 500, 1}, // 3 + 3 = 6
}}

// dailyCost is what OpenCost charges for one day of w: its node's cost.
func (w world) dailyCost() int64 { return 6*w.cores + 3*w.memGiB }

// podKeys are the pods' namespaces and names.
func (w world) podKeys() []types.NamespacedName {
	keys := make([]types.NamespacedName, 0, len(w.pods))
	for _, p := range w.pods {
		keys = append(keys, types.NamespacedName{Namespace: p.namespace, Name: p.name})
	}
	return keys
}

const (
	// sharedNamespace serves both tenants (--cost-shared-namespace).
	sharedNamespace = "monitoring"
	// unattributedNamespace belongs to no tenant: Canopy's unallocated line.
	unattributedNamespace = "legacy"
)

// tenants: payments (team api owns payments-api and its child) and search
// (team index owns search-index). They are fleet Tenants: created on the
// hub, placed on both members (createFleetTenants).
func tenants() []*tenancyv1.Tenant {
	return []*tenancyv1.Tenant{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "payments"},
			Spec: tenancyv1.TenantSpec{
				Owners: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "pat"}},
				Namespaces: []tenancyv1.TenantNamespace{
					{Name: "payments-api"},
					{Name: "payments-api-staging", Parent: "payments-api"},
					{Name: "payments-batch"},
				},
				CostCenter: "CC-1042",
				Teams:      []tenancyv1.Team{{Name: "api", Namespace: "payments-api"}},
			},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: "search"},
			Spec: tenancyv1.TenantSpec{
				Owners: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "sam"}},
				Namespaces: []tenancyv1.TenantNamespace{
					{Name: "search-index"},
					{Name: "search-query"},
				},
				CostCenter: "CC-2077",
				Teams:      []tenancyv1.Team{{Name: "index", Namespace: "search-index"}},
			},
		},
	}
}

// createCluster waits until c holds the Tenants (placed by the hub) with
// their trees, then creates the shared and unattributed namespaces and w's
// node and running pods.
func createCluster(ctx context.Context, t *testing.T, c client.Client, w world) {
	t.Helper()
	for _, tn := range tenants() {
		framework.Eventually(t, 60*time.Second, func(ctx context.Context) error {
			got := &tenancyv1.Tenant{}
			if err := c.Get(ctx, client.ObjectKey{Name: tn.Name}, got); err != nil {
				return fmt.Errorf("%s: %w", w.cluster, err)
			}
			if !meta.IsStatusConditionTrue(got.Status.Conditions, tenancyv1.ConditionReady) {
				return fmt.Errorf("%s: tenant %s not Ready: %+v", w.cluster, tn.Name, got.Status.Conditions)
			}
			return nil
		})
	}
	for _, ns := range []string{sharedNamespace, unattributedNamespace} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
	}

	if err := costdemo.CreateNode(ctx, c, w.node, fmt.Sprintf("e2e-%dx%d", w.cores, w.memGiB), w.cores, w.memGiB<<30); err != nil {
		t.Fatal(err)
	}
	for _, p := range w.pods {
		ensureServiceAccount(ctx, t, c, p.namespace)
		if err := costdemo.CreateRunningPod(ctx, c, p.namespace, p.name, w.node, p.milliCPU, p.memGiB<<30, time.Now().Add(-30*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
}

// ensureServiceAccount waits for the namespace's default ServiceAccount
// (the controller manager creates it), creating it if it is slow.
func ensureServiceAccount(ctx context.Context, t *testing.T, c client.Client, ns string) {
	t.Helper()
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		err := c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	})
}
