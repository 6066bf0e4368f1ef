package fleet

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ciav1 "sigs.k8s.io/cluster-inventory-api/apis/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/placement"
)

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, tenancyv1.AddToScheme, ciav1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// An unstarted provider records registrations without connecting them,
// which is what the inventory tests need: no member API server.
func unstartedProvider(t *testing.T) *Provider {
	t.Helper()
	return NewProvider(testScheme(t), logr.Discard())
}

func TestProviderInventory(t *testing.T) {
	p := unstartedProvider(t)
	ctx := context.Background()
	var changed []string
	p.OnChange(func(n string) { changed = append(changed, n) })

	// Not started: registered, but not connected.
	if err := p.Upsert(ctx, sourceSecret, "b", map[string]string{"region": "eu"}, []byte("kc")); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Fatalf("Upsert before Start = %v, want a not-started error", err)
	}
	_ = p.Upsert(ctx, sourceProfile, "a", map[string]string{"region": "us"}, []byte("kc"))
	want := []placement.Member{{Name: "a", Labels: map[string]string{"region": "us"}}, {Name: "b", Labels: map[string]string{"region": "eu"}}}
	if diff := cmp.Diff(want, p.Members()); diff != "" {
		t.Errorf("Members (-want +got):\n%s", diff)
	}
	if !p.Registered("a") || p.Registered("c") {
		t.Errorf("Registered(a)=%v Registered(c)=%v, want true, false", p.Registered("a"), p.Registered("c"))
	}

	// Another source cannot take over a member; the first keeps it.
	if err := p.Upsert(ctx, sourceSecret, "a", map[string]string{"region": "xx"}, []byte("kc")); err == nil || !strings.Contains(err.Error(), "already registered by ClusterProfile") {
		t.Errorf("conflicting Upsert = %v, want already registered", err)
	}
	if got := p.Members()[0].Labels["region"]; got != "us" {
		t.Errorf("labels after a conflicting Upsert = %q, want us", got)
	}
	// Nor unregister it.
	p.Delete(sourceSecret, "a")
	if !p.Registered("a") {
		t.Error("Delete by another source unregistered the member")
	}

	// Labels change in place.
	_ = p.Upsert(ctx, sourceSecret, "b", map[string]string{"region": "ap"}, []byte("kc"))
	if got := p.Members()[1].Labels["region"]; got != "ap" {
		t.Errorf("labels after Upsert = %q, want ap", got)
	}

	p.Delete(sourceProfile, "a")
	if p.Registered("a") {
		t.Error("Delete by its source left the member registered")
	}
	if diff := cmp.Diff([]string{"b", "a", "b", "a"}, changed); diff != "" {
		t.Errorf("OnChange calls (-want +got):\n%s", diff)
	}
}

func TestProviderConnectErrorOnBadKubeconfig(t *testing.T) {
	p := unstartedProvider(t)
	ctx := context.Background()
	p.ctx = ctx // started, without blocking in Start
	err := p.Upsert(ctx, sourceSecret, "m", nil, []byte("not: [a kubeconfig"))
	if err == nil {
		t.Fatal("Upsert with a broken kubeconfig succeeded")
	}
	if got := p.ConnectError("m"); !strings.Contains(got, `reading the kubeconfig of member "m"`) {
		t.Errorf("ConnectError = %q, want the kubeconfig error", got)
	}
	if !p.Registered("m") {
		t.Error("a member that failed to connect left the inventory; it must stay to be reported")
	}
	if got := p.ConnectError("unknown"); got != "" {
		t.Errorf("ConnectError(unknown) = %q, want empty", got)
	}
}

func secret(name string, labels map[string]string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "canopy-system", Labels: labels}, Data: data}
}

func profile(name string, labels map[string]string, kubeconfigSecret string) *ciav1.ClusterProfile {
	p := &ciav1.ClusterProfile{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "canopy-system", Labels: labels}}
	if kubeconfigSecret != "" {
		p.Annotations = map[string]string{AnnotationKubeconfigSecret: kubeconfigSecret}
	}
	return p
}

func withProperty(p *ciav1.ClusterProfile, name, value string) *ciav1.ClusterProfile {
	p.Status.Properties = append(p.Status.Properties, ciav1.Property{Name: name, Value: value})
	return p
}

func TestRegistrarRead(t *testing.T) {
	kc := map[string][]byte{KubeconfigKey: []byte("kc")}
	objs := []client.Object{
		secret("m-secret", map[string]string{LabelMemberSecret: "true", "region": "eu"}, map[string][]byte{KubeconfigKey: []byte("kc"), OpenCostURLKey: []byte("http://oc-secret:9003")}),
		secret("unlabelled", nil, kc),
		secret("other-ns", map[string]string{LabelMemberSecret: "true"}, kc),
		secret("m-profile-kc", nil, map[string][]byte{KubeconfigKey: []byte("kc"), OpenCostURLKey: []byte("http://ignored:9003")}),
		secret("p2-kc", nil, map[string][]byte{KubeconfigKey: []byte("kc"), OpenCostURLKey: []byte("http://oc-p2:9003")}),
		secret("empty-kc", nil, map[string][]byte{"other": []byte("x")}),
		withProperty(profile("m-profile", map[string]string{"region": "us"}, "m-profile-kc"), PropertyOpenCostURL, "http://oc-profile:9003"),
		profile("p2", nil, "p2-kc"),
	}
	objs[2].SetNamespace("elsewhere")
	for _, tc := range []struct {
		name         string
		extra        []client.Object
		want         []registration
		wantComplete bool
	}{{
		name: "secret and profile",
		want: []registration{
			{source: sourceSecret, name: "m-secret", labels: map[string]string{"region": "eu"}, kubeconfig: []byte("kc"), opencostURL: "http://oc-secret:9003"},
			{source: sourceProfile, name: "m-profile", labels: map[string]string{"region": "us"}, kubeconfig: []byte("kc"), opencostURL: "http://oc-profile:9003"},
			{source: sourceProfile, name: "p2", kubeconfig: []byte("kc"), opencostURL: "http://oc-p2:9003"},
		},
		wantComplete: true,
	}, {
		name:  "a profile without its annotation makes the read partial",
		extra: []client.Object{profile("no-annotation", nil, "")},
		want: []registration{
			{source: sourceSecret, name: "m-secret", labels: map[string]string{"region": "eu"}, kubeconfig: []byte("kc"), opencostURL: "http://oc-secret:9003"},
			{source: sourceProfile, name: "m-profile", labels: map[string]string{"region": "us"}, kubeconfig: []byte("kc"), opencostURL: "http://oc-profile:9003"},
			{source: sourceProfile, name: "p2", kubeconfig: []byte("kc"), opencostURL: "http://oc-p2:9003"},
		},
	}, {
		name:  "a profile naming a missing Secret or one without the key makes the read partial",
		extra: []client.Object{profile("missing", nil, "nope"), profile("nokey", nil, "empty-kc")},
		want: []registration{
			{source: sourceSecret, name: "m-secret", labels: map[string]string{"region": "eu"}, kubeconfig: []byte("kc"), opencostURL: "http://oc-secret:9003"},
			{source: sourceProfile, name: "m-profile", labels: map[string]string{"region": "us"}, kubeconfig: []byte("kc"), opencostURL: "http://oc-profile:9003"},
			{source: sourceProfile, name: "p2", kubeconfig: []byte("kc"), opencostURL: "http://oc-p2:9003"},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(append(append([]client.Object(nil), objs...), tc.extra...)...).Build()
			r := &Registrar{Reader: c, Provider: unstartedProvider(t), Namespace: "canopy-system"}
			got, complete := r.read(context.Background())
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(registration{})); diff != "" {
				t.Errorf("registrations (-want +got):\n%s", diff)
			}
			if complete != tc.wantComplete {
				t.Errorf("complete = %v, want %v", complete, tc.wantComplete)
			}
		})
	}
}

func TestRegistrarRoundUnregistersOnlyOnACompleteRead(t *testing.T) {
	ctx := context.Background()
	p := unstartedProvider(t)
	_ = p.Upsert(ctx, sourceSecret, "gone", nil, []byte("kc"))
	_ = p.Upsert(ctx, sourceProfile, "gone-profile", nil, []byte("kc"))

	// Partial: a broken profile. Nothing is unregistered.
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(
		secret("kept", map[string]string{LabelMemberSecret: "true"}, map[string][]byte{KubeconfigKey: []byte("kc"), OpenCostURLKey: []byte("http://oc:9003")}),
		profile("broken", nil, ""),
	).Build()
	r := &Registrar{Reader: c, Provider: p, Namespace: "canopy-system"}
	r.Round(ctx)
	if got := names(p.Members()); !cmp.Equal(got, []string{"gone", "gone-profile", "kept"}) {
		t.Errorf("members after a partial read = %v, want gone, gone-profile and kept", got)
	}

	if got := p.OpenCostURLs(); !cmp.Equal(got, map[string]string{"kept": "http://oc:9003"}) {
		t.Errorf("OpenCostURLs = %v, want kept's", got)
	}

	// Complete: members no longer registered leave, whatever registered them.
	if err := c.Delete(ctx, profile("broken", nil, "")); err != nil {
		t.Fatal(err)
	}
	r.Round(ctx)
	if got := names(p.Members()); !cmp.Equal(got, []string{"kept"}) {
		t.Errorf("members after a complete read = %v, want kept", got)
	}
}

func names(ms []placement.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestOpenCostURLs(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(
		secret("by-secret", map[string]string{LabelMemberSecret: "true"}, map[string][]byte{KubeconfigKey: []byte("kc"), OpenCostURLKey: []byte("http://a:9003")}),
		secret("no-url", map[string]string{LabelMemberSecret: "true"}, map[string][]byte{KubeconfigKey: []byte("kc")}),
		secret("p-kc", nil, map[string][]byte{KubeconfigKey: []byte("kc")}),
		withProperty(profile("by-profile", nil, "p-kc"), PropertyOpenCostURL, "http://b:9003"),
	).Build()
	urls, complete := OpenCostURLs(context.Background(), c, "canopy-system", logr.Discard())
	if want := map[string]string{"by-secret": "http://a:9003", "by-profile": "http://b:9003"}; !complete || !cmp.Equal(urls, want) {
		t.Errorf("OpenCostURLs = %v, %v; want %v, true", urls, complete, want)
	}
}
