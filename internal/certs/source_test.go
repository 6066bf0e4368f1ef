package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// pair returns a self-signed PEM certificate and key valid in [from, to].
func pair(t *testing.T, serial int64, from, to time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "canopy-webhook.canopy-system.svc"},
		DNSNames: []string{"canopy-webhook.canopy-system.svc"}, NotBefore: from, NotAfter: to,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func secret(certPEM, keyPEM []byte) *corev1.Secret {
	return &corev1.Secret{Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}}
}

func servedSerial(t *testing.T, s *Source) int64 {
	t.Helper()
	c, err := s.GetCertificate(nil)
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	return c.Leaf.SerialNumber.Int64()
}

func TestSourceServesNewestValidPairAndKeepsItThroughBadOnes(t *testing.T) {
	dir := t.TempDir()
	s := NewSource(nil, types.NamespacedName{Namespace: "canopy-system", Name: "c"}, dir, logr.Discard())
	s.now = func() time.Time { return now }

	if _, err := s.GetCertificate(nil); err == nil {
		t.Fatal("GetCertificate before any Secret: want an error, got a certificate")
	}
	if err := s.update(secret(nil, nil)); err == nil {
		t.Fatal("empty Secret accepted")
	}
	if s.Serving() == nil {
		t.Fatal("serving after an empty Secret")
	}

	c1, k1 := pair(t, 1, now.Add(-time.Hour), now.Add(time.Hour))
	changed := s.Changed()
	if err := s.update(secret(c1, k1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Changed not closed after a new certificate")
	}
	if got := servedSerial(t, s); got != 1 {
		t.Fatalf("serving serial %d, want 1", got)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "tls.crt")); err != nil || string(b) != string(c1) {
		t.Fatalf("tls.crt for the rotator: %q, %v; want the certificate", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tls.key")); !os.IsNotExist(err) {
		t.Fatalf("the key was written to disk (stat: %v)", err)
	}

	// The same pair again is no change.
	changed = s.Changed()
	if err := s.update(secret(c1, k1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("Changed closed for the same certificate")
	default:
	}

	c2, k2 := pair(t, 2, now.Add(-time.Hour), now.Add(time.Hour))
	expired, kExpired := pair(t, 3, now.Add(-2*time.Hour), now.Add(-time.Minute))
	future, kFuture := pair(t, 4, now.Add(time.Minute), now.Add(time.Hour))
	for name, sec := range map[string]*corev1.Secret{
		"missing key":     secret(c2, nil),
		"mismatched key":  secret(c2, k1),
		"expired":         secret(expired, kExpired),
		"not yet valid":   secret(future, kFuture),
		"garbage":         secret([]byte("x"), []byte("y")),
		"being rewritten": {Data: map[string][]byte{"ca.crt": c2}},
	} {
		if err := s.update(sec); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if got := servedSerial(t, s); got != 1 {
			t.Errorf("%s: serving serial %d, want the previous certificate (1)", name, got)
		}
	}

	if err := s.update(secret(c2, k2)); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, s); got != 2 {
		t.Fatalf("serving serial %d after rotation, want 2", got)
	}
}

func TestReadyOnlyWhenServingAndInjected(t *testing.T) {
	s := NewSource(nil, types.NamespacedName{Namespace: "canopy-system", Name: "c"}, t.TempDir(), logr.Discard())
	s.now = func() time.Time { return now }
	r := &Rotation{Source: s, injected: make(chan struct{})}
	if r.Checker(nil) == nil {
		t.Fatal("ready with no certificate and no CA injected")
	}
	c, k := pair(t, 1, now.Add(-time.Hour), now.Add(time.Hour))
	if err := s.update(secret(c, k)); err != nil {
		t.Fatal(err)
	}
	if r.Checker(nil) == nil {
		t.Fatal("ready before the CA is injected")
	}
	close(r.injected)
	if err := r.Checker(nil); err != nil {
		t.Fatalf("not ready with a certificate served and the CA injected: %v", err)
	}
}
