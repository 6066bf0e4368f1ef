package scale

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// The users the managers run as, so the audit log tells their writes
// from the benchmark's own.
const (
	canopyUser = "canopy-manager"
	hncUser    = "hnc-manager"
)

// auditPolicy logs, at Metadata level, every write of either manager and
// nothing else, so the log stays small and its writes cost only theirs.
// BENCH_AUDIT_LEVEL=Request logs the bodies too, to see what a write
// changed.
var auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: ` + envOr("BENCH_AUDIT_LEVEL", "Metadata") + `
  users: ["` + canopyUser + `", "` + hncUser + `"]
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
- level: None
`

// cluster is one fresh control plane for one system.
type cluster struct {
	cp *controlplane.ControlPlane
	// c is the benchmark's client: admin, no client-side rate limit.
	c  client.WithWatch
	cs kubernetes.Interface
	// managerKubeconfig authenticates as the manager's own user.
	managerKubeconfig string
	auditLog          string
	dir               string
	log               *os.File
	stopOnce          sync.Once
}

// clusterOptions say what a control plane gets besides etcd,
// kube-apiserver and kube-controller-manager.
type clusterOptions struct {
	crdDir     string
	webhookDir string
	// managerUser, if set, gets a client certificate in system:masters
	// and managerGroups, and dir/manager.kubeconfig.
	managerUser   string
	managerGroups []string
}

// startCluster starts a control plane logging into dir, with the audit
// policy above.
func startCluster(dir string, o clusterOptions) (*cluster, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "control-plane.log"))
	if err != nil {
		return nil, err
	}
	cl := &cluster{dir: dir, log: log, auditLog: filepath.Join(dir, "audit.log")}
	opts := controlplane.Options{
		CRDDirectoryPaths: []string{o.crdDir},
		APIServerArgs: map[string]string{
			"audit-policy-file": policy,
			"audit-log-path":    cl.auditLog,
			"audit-log-format":  "json",
		},
		Output: log,
	}
	if o.webhookDir != "" {
		opts.WebhookPaths = []string{o.webhookDir}
	}
	cl.cp, err = controlplane.Start(opts)
	if err != nil {
		_ = log.Close()
		return nil, err
	}
	cfg := rest.CopyConfig(cl.cp.Config)
	cfg.QPS, cfg.Burst = -1, 0
	if cl.c, err = client.NewWithWatch(cfg, client.Options{Scheme: setup.NewScheme()}); err != nil {
		cl.stop()
		return nil, err
	}
	if cl.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		cl.stop()
		return nil, err
	}
	if err := cl.warmUp(); err != nil {
		cl.stop()
		return nil, err
	}
	if o.managerUser != "" {
		mcfg, err := cl.cp.AddUser(o.managerUser, append([]string{"system:masters"}, o.managerGroups...)...)
		if err != nil {
			cl.stop()
			return nil, err
		}
		cl.managerKubeconfig = filepath.Join(dir, "manager.kubeconfig")
		if err := writeKubeconfig(mcfg, cl.managerKubeconfig); err != nil {
			cl.stop()
			return nil, err
		}
	}
	return cl, nil
}

// stop stops the control plane; calls after the first do nothing.
func (cl *cluster) stop() {
	cl.stopOnce.Do(func() {
		_ = cl.cp.Stop()
		_ = cl.log.Close()
	})
}

// auditOffset is the audit log's current size: writes logged after it
// are read by writesSince.
func (cl *cluster) auditOffset() int64 {
	st, err := os.Stat(cl.auditLog)
	if err != nil {
		return 0
	}
	return st.Size()
}

// writes counts the write requests user made, as logged after offset,
// and names them by verb and resource, most frequent first.
func (cl *cluster) writesSince(ctx context.Context, offset int64, user string) (int, string, error) {
	f, err := os.Open(cl.auditLog)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, "", err
	}
	byKind := map[string]int{}
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if ctx.Err() != nil {
			return 0, "", ctx.Err()
		}
		var ev struct {
			Stage string
			Verb  string
			User  struct{ Username string }
			// ObjectRef names the resource written.
			ObjectRef struct{ Resource, Subresource string }
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue // a line still being written
		}
		// Reviews (selfsubjectreviews, tokenreviews, ...) store nothing.
		if ev.Stage != "ResponseComplete" || ev.User.Username != user || strings.HasSuffix(ev.ObjectRef.Resource, "reviews") {
			continue
		}
		n++
		r := ev.ObjectRef.Resource
		if ev.ObjectRef.Subresource != "" {
			r += "/" + ev.ObjectRef.Subresource
		}
		byKind[ev.Verb+" "+r]++
	}
	keys := make([]string, 0, len(byKind))
	for k := range byKind {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return byKind[keys[i]] > byKind[keys[j]] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", byKind[k], k))
	}
	return n, strings.Join(parts, ", "), sc.Err()
}

// warmUp lists every kind the benchmark writes once, so the client's
// discovery of them is not timed.
func (cl *cluster) warmUp() error {
	for _, l := range []client.ObjectList{&corev1.NamespaceList{}, &rbacv1.RoleList{}, &rbacv1.RoleBindingList{},
		&corev1.PodList{}, &corev1.ResourceQuotaList{}, &api.HierarchyConfigurationList{},
		&api.SubnamespaceAnchorList{}, &api.HierarchicalResourceQuotaList{}} {
		if err := cl.c.List(context.Background(), l, client.Limit(1)); err != nil {
			return fmt.Errorf("listing %T: %w", l, err)
		}
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
