// Package isolationdata attacks Canopy's data isolation as a team lead would,
// on a real API server: the tenant Prometheus proxy (tokens, filtered
// endpoints, a reused namespace name) in front of a real Prometheus, the
// chargeback API's limits through the kube-apiserver's aggregator, the
// registry allow-list and RoleBinding propagation.
package isolationdata

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	kwait "k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

var env *framework.Env

// TestMain starts the environment, runs the tests, then stops what the
// tests started (Prometheus) and the environment.
func TestMain(m *testing.M) {
	e, err := framework.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the integration environment:", err)
		os.Exit(1)
	}
	env = e
	mgrOpts = e.Options
	code := m.Run()
	for _, stop := range stopAtExit {
		stop()
	}
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the integration environment:", err)
	}
	os.Exit(code)
}

// stopAtExit stops what the tests started, after the last test.
var stopAtExit []func()

// The manager's options: each feature a test needs (the proxy, the cost
// API) is switched on once, and the manager restarted with everything on
// so far.
var (
	mgrMu   sync.Mutex
	mgrOpts setup.Options
)

func managerOptions() setup.Options {
	mgrMu.Lock()
	defer mgrMu.Unlock()
	return mgrOpts
}

func setManagerOptions(o setup.Options) {
	mgrMu.Lock()
	defer mgrMu.Unlock()
	mgrOpts = o
}

func restartManager() error {
	env.StopManager()
	return env.StartManager(managerOptions())
}

const wait = 90 * time.Second

var (
	platformOnce sync.Once
	platformErr  error
)

// admin is the platform team: a cluster admin who is not the manager. The
// first call waits until HNC's verbs are aggregated into admin, so owners
// can create anchors.
func admin(t *testing.T) client.Client {
	t.Helper()
	c := env.Admin(t)
	platformOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		platformErr = kwait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			role := &rbacv1.ClusterRole{}
			if err := c.Get(ctx, client.ObjectKey{Name: "admin"}, role); err != nil {
				return false, nil
			}
			for _, r := range role.Rules {
				if slices.Contains(r.APIGroups, "hnc.x-k8s.io") && slices.Contains(r.Resources, "subnamespaceanchors") {
					return true, nil
				}
			}
			return false, nil
		})
	})
	if platformErr != nil {
		t.Fatalf("HNC verbs never aggregated into admin: %v", platformErr)
	}
	return c
}

// lead returns a client for a team lead in group.
func lead(t *testing.T, name, group string) client.Client {
	t.Helper()
	c, _, err := env.UserClient(name, group)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func groupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: name}
}

// createTenant creates tn as the platform team, retrying while the webhooks
// still wait for the forest.
func createTenant(t *testing.T, tn *tenancyv1.Tenant) *tenancyv1.Tenant {
	t.Helper()
	c := admin(t)
	framework.Eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(c.Create(ctx, tn.DeepCopy()))
	})
	got := &tenancyv1.Tenant{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: tn.Name}, got); err != nil {
		t.Fatal(err)
	}
	return got
}

func freeAddrErr() (string, error) {
	port, err := controlplane.FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// httpGet returns the status and body of GET url with a bearer token.
func httpGet(ctx context.Context, url, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", fmt.Errorf("reading %s: %w", url, err)
	}
	return res.StatusCode, string(b), nil
}
