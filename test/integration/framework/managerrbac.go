package framework

import (
	"context"
	"fmt"
	"path/filepath"

	"k8s.io/client-go/rest"

	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// ManagerServiceAccount is the identity an installation gives the manager
// (config/rbac).
const ManagerServiceAccount = "system:serviceaccount:canopy-system:canopy-manager"

// InstalledManagerConfig installs the manager's RBAC as config/rbac has it
// (its ClusterRole, its Role in the manager's namespace, leader election,
// and their bindings to the canopy-manager ServiceAccount) and returns a
// config that authenticates as that ServiceAccount, for a manager run with
// exactly the permissions an installation grants (Env.ManagerConfig).
func (e *Env) InstalledManagerConfig(ctx context.Context) (*rest.Config, error) {
	root := RepoRoot()
	for _, f := range []string{"role.yaml", "role_binding.yaml", "leader_election_role.yaml"} {
		if err := controlplane.InstallFiles(ctx, e.Client, filepath.Join(root, "config", "rbac", f)); err != nil {
			return nil, fmt.Errorf("installing config/rbac/%s: %w", f, err)
		}
	}
	return e.CP.AddUser(ManagerServiceAccount, "system:serviceaccounts", "system:serviceaccounts:canopy-system")
}
