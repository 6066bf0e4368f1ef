package tenant

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// TestSubnamespaceCapUnderConcurrency has a team lead create many anchors
// at once against spec.subnamespaces.max: exactly as many as fit are
// admitted, the rest are denied naming the cap, and the tree ends with
// exactly max namespaces. It runs against one manager and against two
// replicas that both decide (the API server's webhook calls round-robin
// between them).
func TestSubnamespaceCapUnderConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas bool
	}{{"one manager", false}, {"two replicas", true}} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := "cap1"
			if tc.replicas {
				prefix = "cap2"
			}
			var proxy *framework.Proxy
			if tc.replicas {
				_, proxy = env.Replicas(t, 2, "canopy-tenant-cap")
			}
			raceAnchors(t, prefix, 5, 12)
			if proxy != nil && (proxy.Served(0) == 0 || proxy.Served(1) == 0) {
				t.Errorf("the proxy served %d and %d requests: both replicas must decide", proxy.Served(0), proxy.Served(1))
			}
		})
	}
}

// raceAnchors creates a Tenant named prefix with one listed namespace and
// a cap of max, then has its lead create n anchors at once, spread over
// the root and the listed namespace.
func raceAnchors(t *testing.T, prefix string, max, n int) {
	ctx := context.Background()
	listed := prefix + "-a"
	createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: prefix},
		Spec: tenancyv1.TenantSpec{
			Owners:        []rbacv1.Subject{group(prefix + "-leads")},
			Namespaces:    []tenancyv1.TenantNamespace{{Name: listed}},
			Subnamespaces: &tenancyv1.SubnamespacePolicy{Max: int32(max)},
		},
	})
	waitReady(t, prefix)
	waitNamespaceLabel(t, listed, tenancyv1.LabelTenant, prefix)
	c := lead(t, prefix+"-lead", prefix+"-leads")
	anchor := func(ns, name string) *hncv1.SubnamespaceAnchor {
		return &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	// The lead's admin binding has reached both namespaces once a dry run
	// passes there (a dry run reserves nothing).
	for _, ns := range []string{prefix, listed} {
		eventually(t, wait, func(ctx context.Context) error {
			return c.Create(ctx, anchor(ns, prefix+"-probe"), client.DryRunAll)
		})
	}

	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		parent := prefix
		if i%2 == 1 {
			parent = listed
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = c.Create(ctx, anchor(parent, fmt.Sprintf("%s-n%d", prefix, i)))
		}()
	}
	close(start)
	wg.Wait()

	var admitted []string
	for i, err := range errs {
		name := fmt.Sprintf("%s-n%d", prefix, i)
		switch {
		case err == nil:
			admitted = append(admitted, name)
		case strings.Contains(err.Error(), fmt.Sprintf("spec.subnamespaces.max is %d", max)):
		default:
			t.Errorf("anchor %s: %v, want admitted or denied naming the cap", name, err)
		}
	}
	if room := max - 2; len(admitted) != room {
		t.Fatalf("admitted %d anchors (%v), want exactly %d: the tree holds the root and %s, max is %d", len(admitted), admitted, room, listed, max)
	}

	// The tree ends with exactly max namespaces, the admitted ones among
	// them.
	want := append([]string{prefix, listed}, admitted...)
	slices.Sort(want)
	for _, name := range admitted {
		waitNamespaceLabel(t, name, tenancyv1.LabelTenant, prefix)
	}
	eventually(t, wait, func(ctx context.Context) error {
		tn, err := getTenant(ctx, prefix)
		if err != nil {
			return err
		}
		if !slices.Equal(tn.Status.Namespaces, want) {
			return fmt.Errorf("status.namespaces = %v, want %v", tn.Status.Namespaces, want)
		}
		return nil
	})
	nss := &corev1.NamespaceList{}
	if err := env.Client.List(ctx, nss, client.MatchingLabels{tenancyv1.LabelTenant: prefix}); err != nil {
		t.Fatal(err)
	}
	if len(nss.Items) != max {
		t.Errorf("%d namespaces carry the tenant label, want %d", len(nss.Items), max)
	}
	// One more is denied, with a message naming the cap.
	expectDenied(t, "anchor beyond a full tree", c.Create(ctx, anchor(prefix, prefix+"-extra")),
		fmt.Sprintf("tenant %q's tree already holds %d namespaces", prefix, max), fmt.Sprintf("spec.subnamespaces.max is %d", max))
}

// TestCapCoversNewSubnamespaces has a lead fill the tree with one anchor
// and, as fast as it can, create another anchor inside the new
// subnamespace: before the Tenant controller has labelled the new
// namespace, the cap must hold there too.
func TestCapCoversNewSubnamespaces(t *testing.T) {
	createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "capnew"},
		Spec: tenancyv1.TenantSpec{
			Owners:        []rbacv1.Subject{group("capnew-leads")},
			Namespaces:    []tenancyv1.TenantNamespace{{Name: "capnew-a"}},
			Subnamespaces: &tenancyv1.SubnamespacePolicy{Max: 3},
		},
	})
	waitReady(t, "capnew")
	waitNamespaceLabel(t, "capnew-a", tenancyv1.LabelTenant, "capnew")
	c := lead(t, "capnew-lead", "capnew-leads")
	anchor := func(ns, name string) *hncv1.SubnamespaceAnchor {
		return &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(c.Create(ctx, anchor("capnew-a", "capnew-x")))
	})
	// Until the namespace exists and the lead's binding reaches it, the
	// API server refuses before any webhook; the first answer from the
	// webhooks must be the cap.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		err := c.Create(ctx, anchor("capnew-x", "capnew-y"))
		if err == nil {
			t.Fatal("an anchor in a subnamespace created a moment ago escaped the cap")
		}
		if strings.Contains(err.Error(), "spec.subnamespaces.max is 3") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no answer from the cap before the deadline; last error: %v", err)
		}
	}
}
