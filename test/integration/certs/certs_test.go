// Package certs checks the manager's self-managed serving certificates on
// the real control plane: the manager issues its certificate, injects its
// CA into both webhook configurations and the cost API's APIService, and
// rotates the certificate while requests through every webhook and the
// aggregated API keep being answered, and a standby replica (leader
// election on, not the leader) serves each new certificate too.
//
// The API server reaches the manager as in a cluster, through Services
// (ExternalName Services resolving to loopback), so it checks the
// certificate against the Service names and the injected CA, not against
// a test CA.
package certs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/certs"
	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

const (
	waitFor    = 60 * time.Second
	apiService = costapi.Version + "." + costapi.Group
	// renewEvery: each certificate the rotator issues needs renewing this
	// long after it is issued (its validity exceeds the lookahead by it).
	renewEvery = 12 * time.Second
	rotations  = 2
)

// endpoint is a server of the manager, as the API server reaches it.
type endpoint struct {
	name       string
	addr       string // loopback host:port the manager listens on
	serverName string // the Service's DNS name the API server verifies
}

// startSelfManaged stops the Env's manager, points the webhooks and the
// APIService at Services (without any CA bundle) and starts a manager that
// issues its own certificates, renewing them every renewEvery.
func startSelfManaged(t *testing.T) (webhook, api endpoint, opts setup.Options) {
	t.Helper()
	ctx := context.Background()
	admin := env.Client
	ns := env.Options.Forest.ManagerNamespace
	env.StopManager()

	costPort, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	opts = env.Options
	opts.WebhookCertDir = "" // self-managed
	opts.Certs.Lookahead = time.Hour
	opts.Certs.ServerCertDuration = time.Hour + renewEvery
	opts.Certs.CheckInterval = time.Second
	// Leader election on, so the standby replica started later shows
	// that a replica that is not the leader issues nothing of its own
	// yet becomes ready and serves every rotation.
	opts.LeaderElection, opts.LeaderElectionID = true, "canopy-certs-test"
	oc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"code":200,"data":[]}`)
	}))
	t.Cleanup(oc.Close)
	opts.Cost.OpenCostURL = oc.URL
	opts.Cost.API.BindAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(costPort))

	webhook = endpoint{"webhooks", net.JoinHostPort(opts.WebhookHost, strconv.Itoa(opts.WebhookPort)), opts.Certs.WebhookService + "." + ns + ".svc"}
	api = endpoint{"cost API", opts.Cost.API.BindAddress, opts.Certs.CostAPIService + "." + ns + ".svc"}

	for name, port := range map[string]int{opts.Certs.WebhookService: opts.WebhookPort, opts.Certs.CostAPIService: costPort} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
				Ports: []corev1.ServicePort{{Name: "https", Port: int32(port)}}},
		}
		if err := admin.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
	}
	// The webhooks as a cluster has them: a Service, no CA bundle yet.
	toService := func(cc *admissionv1.WebhookClientConfig) {
		u, err := url.Parse(*cc.URL)
		if err != nil {
			t.Fatal(err)
		}
		port := int32(opts.WebhookPort)
		path := "/" + strings.TrimLeft(u.Path, "/") // envtest's URLs have "//path"
		*cc = admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{
			Namespace: ns, Name: opts.Certs.WebhookService, Path: &path, Port: &port,
		}}
	}
	vwc := &admissionv1.ValidatingWebhookConfiguration{}
	if err := admin.Get(ctx, client.ObjectKey{Name: certs.ValidatingName}, vwc); err != nil {
		t.Fatal(err)
	}
	for i := range vwc.Webhooks {
		toService(&vwc.Webhooks[i].ClientConfig)
	}
	if err := admin.Update(ctx, vwc); err != nil {
		t.Fatal(err)
	}
	mwc := &admissionv1.MutatingWebhookConfiguration{}
	if err := admin.Get(ctx, client.ObjectKey{Name: certs.MutatingName}, mwc); err != nil {
		t.Fatal(err)
	}
	for i := range mwc.Webhooks {
		toService(&mwc.Webhooks[i].ClientConfig)
	}
	if err := admin.Update(ctx, mwc); err != nil {
		t.Fatal(err)
	}
	apiSvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": apiService},
		"spec": map[string]any{
			"group": costapi.Group, "version": costapi.Version,
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"service": map[string]any{"name": opts.Certs.CostAPIService, "namespace": ns, "port": int64(costPort)},
		},
	}}
	if err := admin.Create(ctx, apiSvc); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := env.StartManager(opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("manager ready with a self-managed certificate after %v", time.Since(start).Round(time.Millisecond))
	return webhook, api, opts
}

// injected returns the CA bundle of every webhook of both configurations
// and of the APIService, failing unless all are the same non-empty bundle.
func injected(ctx context.Context) ([]byte, error) {
	var bundles [][]byte
	var names []string
	vwc := &admissionv1.ValidatingWebhookConfiguration{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: certs.ValidatingName}, vwc); err != nil {
		return nil, err
	}
	for _, w := range vwc.Webhooks {
		bundles, names = append(bundles, w.ClientConfig.CABundle), append(names, w.Name)
	}
	mwc := &admissionv1.MutatingWebhookConfiguration{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: certs.MutatingName}, mwc); err != nil {
		return nil, err
	}
	for _, w := range mwc.Webhooks {
		bundles, names = append(bundles, w.ClientConfig.CABundle), append(names, w.Name)
	}
	as := &unstructured.Unstructured{}
	as.SetAPIVersion("apiregistration.k8s.io/v1")
	as.SetKind("APIService")
	if err := env.Client.Get(ctx, client.ObjectKey{Name: apiService}, as); err != nil {
		return nil, err
	}
	b64, _, _ := unstructured.NestedString(as.Object, "spec", "caBundle")
	ca, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("APIService caBundle: %w", err)
	}
	bundles, names = append(bundles, ca), append(names, "APIService "+apiService)
	for i, b := range bundles {
		if len(b) == 0 {
			return nil, fmt.Errorf("%s has no CA bundle", names[i])
		}
		if !bytes.Equal(b, bundles[0]) {
			return nil, fmt.Errorf("%s has a CA bundle different from %s's", names[i], names[0])
		}
	}
	return bundles[0], nil
}

// served dials e, verifying its certificate for the Service name against
// ca as the API server does, and returns the certificate.
func served(e endpoint, ca []byte) (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in the CA bundle")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", e.addr,
		&tls.Config{RootCAs: pool, ServerName: e.serverName, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.name, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return base64.StdEncoding.EncodeToString(sum[:8])
}

func TestRotationKeepsEveryWebhookAnswering(t *testing.T) {
	testStart := time.Now()
	webhook, api, opts := startSelfManaged(t)
	ctx := context.Background()

	// The CA is in every webhook and the APIService, and both servers
	// serve a certificate it verifies for their Service names.
	var ca []byte
	framework.Eventually(t, waitFor, func(ctx context.Context) error {
		var err error
		ca, err = injected(ctx)
		return err
	})
	first := map[string]*x509.Certificate{}
	for _, e := range []endpoint{webhook, api} {
		c, err := served(e, ca)
		if err != nil {
			t.Fatalf("before the rotation: %v", err)
		}
		first[e.name] = c
	}
	if !bytes.Equal(first[webhook.name].Raw, first[api.name].Raw) {
		t.Fatal("the webhooks and the cost API serve different certificates")
	}
	waitAPIServiceAvailable(t)
	standby := startStandby(t, opts, webhook.serverName)
	if c, err := served(standby, ca); err != nil || !bytes.Equal(c.Raw, first[webhook.name].Raw) {
		t.Fatalf("the standby replica does not serve the leader's certificate (err %v)", err)
	}

	tr := startTraffic(t, opts)
	// Rotations happen on the rotator's own schedule (every renewEvery);
	// watch the served certificate change rotations times.
	seen := []*x509.Certificate{first[webhook.name]}
	within := time.Duration(rotations+1)*renewEvery + 30*time.Second
	var probeErr error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, within, true, func(context.Context) (bool, error) {
		c, err := served(webhook, ca)
		if err != nil {
			probeErr = err
			return false, err
		}
		if !bytes.Equal(c.Raw, seen[len(seen)-1].Raw) {
			seen = append(seen, c)
			t.Logf("rotation %d after %v: serving %s (serial %s, expires %s), requests so far %d", len(seen)-1,
				time.Since(testStart).Round(time.Millisecond), fingerprint(c), c.SerialNumber, c.NotAfter.UTC().Format(time.RFC3339), tr.total())
		}
		return len(seen) > rotations, nil
	})
	if probeErr != nil {
		t.Fatalf("during the rotation: %v", probeErr)
	}
	if err != nil {
		t.Fatalf("saw %d rotations of the served certificate in %v, want %d: %v", len(seen)-1, within, rotations, err)
	}
	// Traffic runs a little past the last rotation, then stops.
	tr.runFor(t, 3*time.Second)
	tr.stop()

	last := seen[len(seen)-1]
	if bytes.Equal(last.Raw, first[webhook.name].Raw) {
		t.Fatal("the served certificate did not change")
	}
	// cert-controller v0.16.0 gives every server certificate serial 1, so
	// the change shows in the bytes; record whether the serial moved too.
	t.Logf("first certificate serial %s, last serial %s (cert-controller numbers every server certificate 1)", first[webhook.name].SerialNumber, last.SerialNumber)
	c, err := served(api, ca)
	if err != nil {
		t.Fatalf("cost API after the rotation: %v", err)
	}
	if bytes.Equal(c.Raw, first[api.name].Raw) {
		t.Fatal("the cost API still serves its first certificate")
	}
	// The standby serves the same newest certificate (one watch event
	// behind at most).
	framework.Eventually(t, 10*time.Second, func(context.Context) error {
		c, err := served(standby, ca)
		if err != nil {
			return err
		}
		if !bytes.Equal(c.Raw, last.Raw) {
			return fmt.Errorf("the standby serves %s, the leader %s", fingerprint(c), fingerprint(last))
		}
		return nil
	})
	// The CA did not change: the bundles still hold it.
	after, err := injected(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, ca) {
		t.Fatal("the CA bundle changed during a server-certificate rotation")
	}
	tr.check(t)
	deletedSecretRecovers(t, ca, webhook, api, standby)
	t.Logf("whole test %v", time.Since(testStart).Round(time.Millisecond))
}

// deletedSecretRecovers deletes the Secret: it is recreated with a new CA,
// which is injected everywhere and verifies what every server serves. (A
// CA change is not seamless: no traffic is asserted across it.)
func deletedSecretRecovers(t *testing.T, oldCA []byte, endpoints ...endpoint) {
	t.Helper()
	ctx := context.Background()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: env.Options.Forest.ManagerNamespace, Name: env.Options.Certs.Secret}}
	if err := env.Client.Delete(ctx, sec); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	framework.Eventually(t, waitFor, func(ctx context.Context) error {
		ca, err := injected(ctx)
		if err != nil {
			return err
		}
		if bytes.Equal(ca, oldCA) {
			return fmt.Errorf("the old CA is still injected")
		}
		for _, e := range endpoints {
			if _, err := served(e, ca); err != nil {
				return err
			}
		}
		return nil
	})
	t.Logf("after deleting the Secret, a new CA was injected and served everywhere in %v", time.Since(start).Round(time.Millisecond))
}

// startStandby starts a second replica with self-managed certificates,
// on its own ports, and returns its webhook endpoint once it is ready.
func startStandby(t *testing.T, opts setup.Options, serverName string) endpoint {
	t.Helper()
	ports := make([]int, 3)
	for i := range ports {
		p, err := controlplane.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	opts.WebhookPort = ports[0]
	opts.ProbeAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	opts.Cost.API.BindAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))
	start := time.Now()
	stop, err := env.StartReplica(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	t.Logf("standby replica ready after %v", time.Since(start).Round(time.Millisecond))
	return endpoint{"standby replica's webhooks", net.JoinHostPort(opts.WebhookHost, strconv.Itoa(opts.WebhookPort)), serverName}
}

func waitAPIServiceAvailable(t *testing.T) {
	t.Helper()
	framework.Eventually(t, waitFor, func(ctx context.Context) error {
		got := &unstructured.Unstructured{}
		got.SetAPIVersion("apiregistration.k8s.io/v1")
		got.SetKind("APIService")
		if err := env.Client.Get(ctx, client.ObjectKey{Name: apiService}, got); err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Available" && m["status"] == "True" {
				return nil
			}
		}
		return fmt.Errorf("APIService not available: %v", conds)
	})
}
