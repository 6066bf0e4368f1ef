package scale

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The floor of any webhook: a plain ResourceQuota whose status updates
// pass one validating webhook that decodes the AdmissionReview and allows
// it, served over HTTPS from this process. Pods created under it pay what
// any synchronous webhook on the API server's quota path pays (the API
// server encoding the review, the round trip, its decoding the answer), so
// Canopy's hierarchical quota beside it shows what Canopy's own handling
// costs on top, in the same run.

const (
	hookedNS = "q-hooked"
	// noopWebhook is the webhook's name, as the API server's admission
	// metrics label it.
	noopWebhook = "noop-status.bench.canopy.dev"
	// hookedLabel marks the ResourceQuota the no-op webhook is asked about.
	hookedLabel = "bench.canopy.dev/hooked"
)

// startNoopWebhook serves the no-op webhook on 127.0.0.1 and registers it
// for the status updates of ResourceQuotas labelled hookedLabel. The
// returned func stops the server. With BENCH_NOOP_SERVER=canopy, a
// system with a manager has the no-op served by the manager's webhook
// server instead, and with BENCH_NOOP_SERVER=process by a process of its
// own (experiments; the table's no-op rows then mean that).
func startNoopWebhook(ctx context.Context, cl *cluster, floor bool) (func(), error) {
	cert, caPEM, keyPEM, err := selfSigned()
	if err != nil {
		return nil, err
	}
	var url string
	var stop func()
	if os.Getenv("BENCH_NOOP_SERVER") == "process" {
		if url, stop, err = serveNoopProcess(caPEM, keyPEM); err != nil {
			return nil, err
		}
	} else {
		addr, stopServer, err := serveNoop(cert)
		if err != nil {
			return nil, err
		}
		url, stop = "https://"+addr+"/", stopServer
	}
	if os.Getenv("BENCH_NOOP_SERVER") == "canopy" && !floor {
		// Served by Canopy's own webhook server instead: its status
		// handler allows a ResourceQuota that is not a singleton at once,
		// so the no-op's time against Canopy's says how much of Canopy's
		// is its process and server rather than its decision.
		o := cl.cp.Env.WebhookInstallOptions
		url = fmt.Sprintf("https://%s:%d/validate-quota-singleton-status", o.LocalServingHost, o.LocalServingPort)
		caPEM = o.LocalServingCAData
	}
	fail, none, timeout := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone, int32(10)
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-noop-status"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         noopWebhook,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
					Resources: []string{"resourcequotas/status"}},
			}},
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{hookedLabel: "true"}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if err := cl.c.Create(ctx, cfg); err != nil && !apierrors.IsAlreadyExists(err) {
		stop()
		return nil, fmt.Errorf("registering the no-op webhook: %w", err)
	}
	return stop, nil
}

// serveNoop serves the no-op webhook from this process on 127.0.0.1 and
// returns its address and a func that stops it.
func serveNoop(cert tls.Certificate) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(allowReview), ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("no-op webhook: %v\n", err)
		}
	}()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// serveNoopProcess serves the no-op webhook from a process of its own
// (this benchmark's binary run again with BENCH_NOOP_SERVE=1, see
// TestMain), idle between requests as a real webhook's process is, where
// serveNoop's shares the benchmark's busy process.
func serveNoopProcess(certPEM, keyPEM []byte) (string, func(), error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BENCH_NOOP_SERVE=1", "BENCH_NOOP_CERT="+string(certPEM), "BENCH_NOOP_KEY="+string(keyPEM))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("starting the no-op webhook's process: %w", err)
	}
	return fmt.Sprintf("https://%s/", strings.TrimSpace(addr)), stop, nil
}

// serveNoopChild is the no-op webhook's own process: it prints its address
// and serves until it is killed.
func serveNoopChild() {
	cert, err := tls.X509KeyPair([]byte(os.Getenv("BENCH_NOOP_CERT")), []byte(os.Getenv("BENCH_NOOP_KEY")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	addr, _, err := serveNoop(cert)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(addr)
	select {}
}

// allowReview decodes the AdmissionReview, as any webhook must, and allows
// the request.
func allowReview(w http.ResponseWriter, r *http.Request) {
	var rev admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&rev); err != nil || rev.Request == nil {
		http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(admissionv1.AdmissionReview{TypeMeta: rev.TypeMeta,
		Response: &admissionv1.AdmissionResponse{UID: rev.Request.UID, Allowed: true}})
}

// selfSigned returns a certificate for 127.0.0.1, its PEM, which is its
// own CA bundle, and its key's PEM.
func selfSigned() (tls.Certificate, []byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench no-op webhook"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	return cert, certPEM, keyPEM, err
}
