// Package fleet is Canopy's hub: it places fleet Tenants (those with
// spec.placement) on member clusters and reports them back.
//
// Members are multicluster-runtime clusters. Provider is a
// multicluster-runtime provider fed by two small registration controllers
// on the hub: one reads SIG Multicluster ClusterProfiles and the kubeconfig
// Secret each names (profiles.go), the other reads kubeconfig Secrets
// (secrets.go). The hub reconciler (hub.go) reads the hub Tenant and each
// member, decides with the pure package internal/placement, then writes
// member Tenants and the hub Tenant's status.
package fleet

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/multicluster-runtime/pkg/clusters"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	"github.com/canopyhq/canopy/internal/placement"
)

// Provider is a multicluster-runtime provider of member clusters, plus the
// inventory placement selects from: every registered member with its
// labels, connected or not. A member whose cache cannot sync (unreachable
// when registered) stays in the inventory, so the hub reports it.
type Provider struct {
	clusters.Clusters[cluster.Cluster]
	scheme *runtime.Scheme
	log    logr.Logger

	mu      sync.Mutex
	aware   multicluster.Aware
	ctx     context.Context // the manager's, set by Start
	members map[string]*entry
	// changed is told the names of members that joined, left or changed.
	changed func(name string)
}

type entry struct {
	source string // which registration controller owns it
	labels map[string]string
	hash   string
	// lastErr is why connecting failed; empty once engaged.
	lastErr string
	// opencost is the URL of the member's OpenCost; empty if none.
	opencost string
}

// NewProvider returns an empty provider; Start gives it the manager's
// lifetime.
func NewProvider(scheme *runtime.Scheme, log logr.Logger) *Provider {
	p := &Provider{Clusters: clusters.New[cluster.Cluster](), scheme: scheme, log: log, members: map[string]*entry{}}
	p.WaitCacheTimeout = 15 * time.Second
	p.ErrorHandler = func(err error, msg string, kv ...any) { log.Error(err, msg, kv...) }
	return p
}

// SetAware sets what engages members (the multicluster manager).
func (p *Provider) SetAware(a multicluster.Aware) { p.mu.Lock(); p.aware = a; p.mu.Unlock() }

// OnChange sets the function told when a member changes.
func (p *Provider) OnChange(f func(name string)) { p.mu.Lock(); p.changed = f; p.mu.Unlock() }

// Start records the manager's context, which members run under, and blocks.
func (p *Provider) Start(ctx context.Context) error {
	p.mu.Lock()
	p.ctx = ctx
	p.mu.Unlock()
	<-ctx.Done()
	return nil
}

// NeedLeaderElection: members are engaged by the leader only.
func (p *Provider) NeedLeaderElection() bool { return true }

// Members returns the inventory, sorted by name.
func (p *Provider) Members() []placement.Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]placement.Member, 0, len(p.members))
	for n, e := range p.members {
		out = append(out, placement.Member{Name: n, Labels: e.labels})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ConnectError says why member name is not connected; empty when it is,
// or when it is not registered.
func (p *Provider) ConnectError(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.members[name]; e != nil {
		return e.lastErr
	}
	return ""
}

// Registered reports whether name is in the inventory.
func (p *Provider) Registered(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.members[name] != nil
}

// Upsert registers member name from source with labels and a kubeconfig,
// and connects it unless it is connected with the same kubeconfig. A
// member registered by another source keeps that one; the conflict is
// returned.
func (p *Provider) Upsert(ctx context.Context, source, name string, labels map[string]string, kubeconfig []byte) error {
	sum := fmt.Sprintf("%x", sha256.Sum256(kubeconfig))
	p.mu.Lock()
	e := p.members[name]
	if e != nil && e.source != source {
		p.mu.Unlock()
		return fmt.Errorf("member %q is already registered by %s", name, e.source)
	}
	if e == nil {
		e = &entry{source: source}
		p.members[name] = e
	}
	e.labels = labels
	reconnect := e.hash != sum || e.lastErr != ""
	e.hash = sum
	base, aware, changed := p.ctx, p.aware, p.changed
	p.mu.Unlock()
	if changed != nil {
		defer changed(name)
	}
	if !reconnect {
		return nil
	}
	if base == nil {
		return fmt.Errorf("the provider has not started")
	}
	err := p.connect(base, aware, name, kubeconfig)
	p.mu.Lock()
	if cur := p.members[name]; cur == e {
		e.lastErr = ""
		if err != nil {
			e.lastErr = err.Error()
		}
	}
	p.mu.Unlock()
	return err
}

func (p *Provider) connect(base context.Context, aware multicluster.Aware, name string, kubeconfig []byte) error {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return fmt.Errorf("reading the kubeconfig of member %q: %w", name, err)
	}
	// Reads of an unreachable member must fail fast, so it is reported
	// rather than stalling the hub.
	cfg.Timeout = 10 * time.Second
	cl, err := cluster.New(cfg, func(o *cluster.Options) {
		o.Scheme = p.scheme
		o.Client.Cache = &client.CacheOptions{Unstructured: false}
	})
	if err != nil {
		return fmt.Errorf("creating cluster %q: %w", name, err)
	}
	p.Remove(multicluster.ClusterName(name))
	if err := p.Add(base, multicluster.ClusterName(name), cl, aware); err != nil {
		return fmt.Errorf("connecting member %q: %w", name, err)
	}
	p.log.Info("Member connected", "cluster", name)
	return nil
}

// SetOpenCostURL records the URL of member name's OpenCost, if source
// registered the member.
func (p *Provider) SetOpenCostURL(source, name, url string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.members[name]; e != nil && e.source == source {
		e.opencost = url
	}
}

// OpenCostURLs returns the URL of each member's OpenCost, by member name;
// members without one are absent.
func (p *Provider) OpenCostURLs() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for n, e := range p.members {
		if e.opencost != "" {
			out[n] = e.opencost
		}
	}
	return out
}

// Delete unregisters member name if source registered it, disconnecting
// it. Nothing is written to the member.
func (p *Provider) Delete(source, name string) {
	p.mu.Lock()
	e := p.members[name]
	if e == nil || e.source != source {
		p.mu.Unlock()
		return
	}
	delete(p.members, name)
	changed := p.changed
	p.mu.Unlock()
	p.Remove(multicluster.ClusterName(name))
	p.log.Info("Member unregistered", "cluster", name)
	if changed != nil {
		changed(name)
	}
}

var _ multicluster.Provider = &Provider{}
