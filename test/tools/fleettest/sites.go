// Package fleettest holds what Canopy's fleet e2e tests share
// (test/e2e/fleet, two members, in make test; test/e2e/fleet3, three
// members, in make test-fleet3): control planes started side by side, each
// with its own bin/canopy-manager process, member registration on the hub,
// an endpoint the test can cut, a member stopped and restarted for real,
// and the checks of what the hub and members report.
package fleettest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/tools/localcanopy"
)

const (
	// ManagerNamespace is every manager's namespace, and the hub's fleet
	// namespace.
	ManagerNamespace = "canopy-system"
	// HubUser is the identity the hub uses on members, trusted by their
	// managers with --fleet-hub-user.
	HubUser = "canopy-hub"
)

func init() { crlog.SetLogger(logr.Discard()) }

// Site is one control plane (the hub or a member) with its manager.
type Site struct {
	Name string
	LC   *localcanopy.Cluster
	C    client.Client
	Mgr  *localcanopy.Manager
	// EP is how the hub reaches a member.
	EP *Endpoint

	root     string
	logs     string
	flags    []string
	restarts int
}

// StartSites starts a control plane per name, side by side. Logs go to
// $CANOPY_FLEET_LOGS/<name> when it is set, else to a temporary directory.
// At the end of t each site's manager stops, then every control plane.
func StartSites(t *testing.T, root string, names ...string) []*Site {
	t.Helper()
	logs := os.Getenv("CANOPY_FLEET_LOGS")
	if logs == "" {
		logs = t.TempDir()
	}
	lcs, err := localcanopy.StartClusters(context.Background(), root, logs, names, ManagerNamespace)
	if err != nil {
		t.Fatal(err)
	}
	sites := make([]*Site, len(names))
	for i, lc := range lcs {
		t.Cleanup(lc.Stop)
		sites[i] = &Site{Name: names[i], LC: lc, root: root, logs: filepath.Join(logs, names[i])}
		if sites[i].C, err = client.New(lc.CP.Config, client.Options{Scheme: setup.NewScheme()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sites {
		t.Cleanup(func() {
			if s.Mgr != nil {
				s.Mgr.Stop()
			}
		})
	}
	return sites
}

// StartManager runs root's bin/canopy-manager against s with flags.
func (s *Site) StartManager(t *testing.T, flags ...string) {
	t.Helper()
	m, err := localcanopy.StartManager(s.root, s.logs, s.LC, flags...)
	if err != nil {
		t.Fatal(err)
	}
	s.Mgr, s.flags = m, flags
}

// Stop stops member s for real: its manager, then its kube-controller-
// manager and kube-apiserver. etcd keeps the cluster's data and the
// certificates stay, so Restart brings the same cluster back on the same
// address.
func (s *Site) Stop(t *testing.T) {
	t.Helper()
	s.Mgr.Stop()
	if err := s.LC.CP.StopAPIServer(); err != nil {
		t.Fatalf("stopping %s: %v", s.Name, err)
	}
}

// Restart starts s's kube-apiserver and kube-controller-manager again with
// their first command lines, then its manager with the same flags (logging
// to canopy-manager-restart-N.log).
func (s *Site) Restart(t *testing.T) {
	t.Helper()
	if err := s.LC.CP.RestartAPIServer(); err != nil {
		t.Fatalf("restarting %s: %v", s.Name, err)
	}
	s.restarts++
	_, port, _ := s.LC.CP.WebhookServing()
	m, err := localcanopy.StartReplica(s.root, s.logs, s.LC,
		fmt.Sprintf("restart-%d", s.restarts), port, s.flags...)
	if err != nil {
		t.Fatalf("restarting %s's manager: %v", s.Name, err)
	}
	s.Mgr = m
}

// Eventually polls f until it returns nil, failing with its last error.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		last = f()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s: %v", what, timeout, last)
	}
}

// Errorf is fmt.Errorf, for the checks polled with Eventually.
func Errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
