package scale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// hncVersion is the HNC release compared against; `make hnc-bins` builds
// its manager and keeps its sources beside it.
const hncVersion = "v1.1.0"

// system is one of the three things measured side by side.
type system struct {
	name string
	// user is the manager's user in the audit log.
	user string
	// singleton is the ResourceQuota a hierarchical quota puts in each
	// namespace of its subtree.
	singleton  string
	newCluster func(dir string) (*cluster, error)
	// start runs the manager (nil for the floor, which has none).
	start func(cl *cluster, dir string) (*proc, error)
}

func floorSystem(root string) system {
	return system{name: "floor", newCluster: func(dir string) (*cluster, error) {
		return startCluster(dir, clusterOptions{crdDir: filepath.Join(root, "config", "crd", "bases")})
	}}
}

// canopySystem runs root's bin/canopy-manager with default settings, as
// test/tools/localcanopy does, as its own user and serving pprof.
func canopySystem(root string) system {
	return system{name: "Canopy", user: canopyUser, singleton: quota.UnscopedSingletonName,
		newCluster: func(dir string) (*cluster, error) {
			cl, err := startCluster(dir, clusterOptions{crdDir: filepath.Join(root, "config", "crd", "bases"),
				webhookDir: filepath.Join(root, "config", "webhook"), managerUser: canopyUser})
			if err != nil {
				return nil, err
			}
			ctx := context.Background()
			if err := errors.Join(controlplane.EnsureNamespace(ctx, cl.c, "canopy-system"),
				controlplane.InstallFiles(ctx, cl.c, filepath.Join(root, "config", "rbac", "hnc_aggregated_roles.yaml"))); err != nil {
				cl.stop()
				return nil, err
			}
			return cl, nil
		},
		start: func(cl *cluster, dir string) (*proc, error) {
			host, port, certDir := cl.cp.WebhookServing()
			probe, err1 := controlplane.FreePort()
			pprof, err2 := controlplane.FreePort()
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			pprofAddr := "127.0.0.1:" + strconv.Itoa(pprof)
			return startProc(filepath.Join(root, "bin", "canopy-manager"), []string{
				"--kubeconfig=" + cl.managerKubeconfig,
				"--webhook-host=" + host, "--webhook-port=" + strconv.Itoa(port), "--webhook-cert-dir=" + certDir,
				"--metrics-bind-address=0", "--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(probe),
				"--manager-namespace=canopy-system", "--pprof-bind-address=" + pprofAddr,
			}, canopyEnv(), filepath.Join(dir, "canopy-manager.log"), "http://127.0.0.1:"+strconv.Itoa(probe)+"/readyz", pprofAddr)
		},
	}
}

// canopyEnv is the manager's environment beyond the benchmark's own:
// BENCH_CANOPY_GOMEMLIMIT, when set, is its GOMEMLIMIT (what
// --memory-limit-ratio derives from a container's limit), so that the
// benchmark's own client is not held to it.
func canopyEnv() []string {
	if v := os.Getenv("BENCH_CANOPY_GOMEMLIMIT"); v != "" {
		return []string{"GOMEMLIMIT=" + v}
	}
	return nil
}

// hncSystem runs HNC v1.1.0's manager as its default manifests do
// (--max-reconciles=10, --apiserver-qps-throttle=50), with hierarchical
// quotas on (its hrq variant) and every webhook of those manifests served.
func hncSystem() (system, error) {
	hncDir, err := controlplane.CacheDir()
	if err != nil {
		return system{}, err
	}
	hncDir = filepath.Join(hncDir, "hnc-"+hncVersion)
	bin, err := controlplane.CachedBinary("hnc-"+hncVersion, "manager", "hnc-bins")
	if err != nil {
		return system{}, err
	}
	src := filepath.Join(hncDir, "src")
	return system{name: "HNC", user: hncUser, singleton: "hrq.hnc.x-k8s.io",
		newCluster: func(dir string) (*cluster, error) {
			whDir := filepath.Join(dir, "hnc-webhooks")
			if err := writeHNCWebhooks(src, whDir); err != nil {
				return nil, err
			}
			cl, err := startCluster(dir, clusterOptions{crdDir: filepath.Join(src, "config", "crd", "bases"),
				// HNC's webhooks recognise its manager by the group of
				// its namespace's service accounts.
				webhookDir: whDir, managerUser: hncUser, managerGroups: []string{"system:serviceaccounts:hnc-system"}})
			if err != nil {
				return nil, err
			}
			// HNC's webhook server reads its certificate from
			// $TMPDIR/k8s-webhook-server/serving-certs.
			_, _, certDir := cl.cp.WebhookServing()
			certs := filepath.Join(dir, "tmp", "k8s-webhook-server", "serving-certs")
			if err := errors.Join(copyFile(filepath.Join(certDir, "tls.crt"), filepath.Join(certs, "tls.crt")),
				copyFile(filepath.Join(certDir, "tls.key"), filepath.Join(certs, "tls.key"))); err != nil {
				cl.stop()
				return nil, err
			}
			return cl, nil
		},
		start: func(cl *cluster, dir string) (*proc, error) {
			_, port, _ := cl.cp.WebhookServing()
			probe, err := controlplane.FreePort()
			if err != nil {
				return nil, err
			}
			return startProc(bin, []string{
				"--kubeconfig=" + cl.managerKubeconfig,
				"--webhook-server-port=" + strconv.Itoa(port),
				"--metrics-addr=0", "--enable-stackdriver=false",
				"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(probe),
				"--max-reconciles=10", "--apiserver-qps-throttle=50", "--enable-hrq",
				"--excluded-namespace=kube-system", "--excluded-namespace=kube-public",
				"--excluded-namespace=kube-node-lease", "--excluded-namespace=hnc-system",
			}, []string{"TMPDIR=" + filepath.Join(cl.dir, "tmp")}, filepath.Join(dir, "hnc-manager.log"),
				"http://127.0.0.1:"+strconv.Itoa(probe)+"/readyz", "")
		},
	}, nil
}

// writeHNCWebhooks writes HNC's webhook configurations as its kustomize
// build would: config/webhook/manifests.yaml, with webhook_patch.yaml's
// namespace selector, namespaced scope and 2 s timeout on the object
// validator, plus the hrq variant's two validators.
func writeHNCWebhooks(src, dir string) error {
	data, err := os.ReadFile(filepath.Join(src, "config", "webhook", "manifests.yaml"))
	if err != nil {
		return fmt.Errorf("reading HNC's webhooks (run `make hnc-bins`): %w", err)
	}
	hrqData, err := os.ReadFile(filepath.Join(src, "config", "variants", "hrq", "webhook_patch.yaml"))
	if err != nil {
		return err
	}
	var hrq admissionv1.ValidatingWebhookConfiguration
	if err := yaml.Unmarshal(hrqData, &hrq); err != nil {
		return err
	}
	var out [][]byte
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) == 0 || string(bytes.TrimSpace(doc)) == "---" {
			continue
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return err
		}
		if meta.Kind != "ValidatingWebhookConfiguration" {
			out = append(out, doc)
			continue
		}
		var v admissionv1.ValidatingWebhookConfiguration
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return err
		}
		namespaced, two := admissionv1.NamespacedScope, int32(2)
		for i := range v.Webhooks {
			w := &v.Webhooks[i]
			if w.Name != "objects.hnc.x-k8s.io" {
				continue
			}
			w.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"hnc.x-k8s.io/included-namespace": "true"}}
			w.TimeoutSeconds = &two
			for j := range w.Rules {
				w.Rules[j].Scope = &namespaced
			}
		}
		v.Webhooks = append(v.Webhooks, hrq.Webhooks...)
		b, err := yaml.Marshal(&v)
		if err != nil {
			return err
		}
		out = append(out, b)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifests.yaml"), bytes.Join(out, []byte("\n---\n")), 0o644)
}

// download saves url's body into path.
func download(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
