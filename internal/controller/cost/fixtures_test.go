package cost

import (
	"context"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/forest"
)

// now is 2026-11-15 12:00 UTC: month to date is 2026-11-01..now, last
// month is October.
var now = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

// fakeOpenCost serves fixed allocations per window start, or an error.
type fakeOpenCost struct {
	mu    sync.Mutex
	steps map[time.Time][]opencost.Allocation
	err   error
	calls int
}

func (f *fakeOpenCost) Allocations(_ context.Context, w period.Window, visit func(*opencost.Step) error) (opencost.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return opencost.Response{}, f.err
	}
	allocs := f.steps[w.Start]
	if err := visit(&opencost.Step{Window: w, Allocations: allocs}); err != nil {
		return opencost.Response{}, err
	}
	return opencost.Response{Code: 200, Steps: 1}, nil
}

func (f *fakeOpenCost) set(steps map[time.Time][]opencost.Allocation, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps, f.err = steps, err
}

func (f *fakeOpenCost) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

var (
	novStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	octStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
)

// alloc is one namespace's allocation with cpu and ram cost (totalCost is
// their sum) and every other cost zero.
func alloc(key string, cpu, ram float64) opencost.Allocation {
	return opencost.Allocation{
		Key: key, Name: key, Namespace: key, CPUCost: cpu, RAMCost: ram, TotalCost: cpu + ram,
	}
}

// testForest holds pay (with pay-api and pay-api-staging below it), web,
// and kube-system.
func testForest(t *testing.T) *forest.Forest {
	t.Helper()
	f := forest.New()
	f.Lock()
	defer f.Unlock()
	for _, n := range []string{"pay", "pay-api", "pay-api-staging", "web", "kube-system"} {
		f.Get(n).SetExists(true)
	}
	f.Get("pay-api").SetParent(f.Get("pay"))
	f.Get("pay-api-staging").SetParent(f.Get("pay-api"))
	return f
}

func tenant(name string, gen int64, budget *tenancyv1.Budget, teams ...tenancyv1.Team) *tenancyv1.Tenant {
	return &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: gen},
		Spec:       tenancyv1.TenantSpec{Budget: budget, Teams: teams},
	}
}

func budget(monthly string, alertAt ...int32) *tenancyv1.Budget {
	return &tenancyv1.Budget{Monthly: resource.MustParse(monthly), Currency: "USD", AlertAt: alertAt}
}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := tenancyv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func fakeClient(t *testing.T, objs ...client.Object) client.WithWatch {
	t.Helper()
	return fake.NewClientBuilder().WithScheme(testScheme(t)).
		WithStatusSubresource(&tenancyv1.Tenant{}).WithObjects(objs...).Build()
}

func getTenant(t *testing.T, c client.Client, name string) *tenancyv1.Tenant {
	t.Helper()
	tn := &tenancyv1.Tenant{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, tn); err != nil {
		t.Fatalf("getting tenant %s: %v", name, err)
	}
	return tn
}
