package framework

import (
	"sync"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/setup"
)

var (
	adminMu     sync.Mutex
	adminClient = map[*Env]client.Client{}
)

// Admin returns a cluster administrator (group system:masters) who is not
// Canopy's manager, so webhooks judge its requests as a user's. Env.Client
// shares the manager's credentials and is for setting up states the
// webhooks would refuse. The client is made once per Env and does no
// client-side throttling, so tests can create objects concurrently.
func (e *Env) Admin(t testing.TB) client.Client {
	t.Helper()
	adminMu.Lock()
	defer adminMu.Unlock()
	if c, ok := adminClient[e]; ok {
		return c
	}
	cfg, err := e.CP.AddUser("platform-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := client.New(cfg, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		t.Fatalf("creating the admin client: %v", err)
	}
	adminClient[e] = c
	return c
}
