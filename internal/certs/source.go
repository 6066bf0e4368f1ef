package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
)

// Source serves the certificate held in one Secret: it watches that Secret
// (an informer on it alone) and hands the newest valid pair to TLS
// handshakes through GetCertificate. A Secret without a usable pair (being
// rotated, edited, deleted) leaves the last valid one in service.
type Source struct {
	key    types.NamespacedName
	client kubernetes.Interface
	// markDir, when set, receives tls.crt (the certificate, never the key)
	// each time a new certificate is served: cert-controller waits for
	// that file before it injects the CA (it expects a kubelet to mount
	// the Secret there). Start removes it when it returns.
	markDir string
	log     logr.Logger
	now     func() time.Time

	cur atomic.Pointer[tls.Certificate]
	// changed is closed and replaced each time a new certificate is
	// served; tests and readiness wait on it.
	changed atomic.Pointer[chan struct{}]
}

// NewSource returns a Source for the Secret key; Start runs its informer.
func NewSource(client kubernetes.Interface, key types.NamespacedName, markDir string, log logr.Logger) *Source {
	s := &Source{key: key, client: client, markDir: markDir, log: log, now: time.Now}
	ch := make(chan struct{})
	s.changed.Store(&ch)
	return s
}

// GetCertificate is a tls.Config.GetCertificate.
func (s *Source) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.cur.Load(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("no serving certificate yet in Secret %s", s.key)
}

// Serving returns nil once a certificate is being served.
func (s *Source) Serving() error {
	_, err := s.GetCertificate(nil)
	return err
}

// Current returns the certificate being served, nil before the first.
func (s *Source) Current() *x509.Certificate {
	if c := s.cur.Load(); c != nil {
		return c.Leaf
	}
	return nil
}

// Changed returns a channel closed when the next certificate is served.
func (s *Source) Changed() <-chan struct{} { return *s.changed.Load() }

// NeedLeaderElection is false: every replica serves.
func (s *Source) NeedLeaderElection() bool { return false }

// Start watches the Secret until ctx is done.
func (s *Source) Start(ctx context.Context) error {
	lw := toolscache.NewFilteredListWatchFromClient(s.client.CoreV1().RESTClient(), "secrets", s.key.Namespace,
		func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", s.key.Name).String()
		})
	inf := toolscache.NewSharedIndexInformer(lw, &corev1.Secret{}, 0, toolscache.Indexers{})
	onSecret := func(obj any) {
		sec, ok := obj.(*corev1.Secret)
		if !ok {
			return
		}
		if err := s.update(sec); err != nil {
			s.log.Info("Keeping the serving certificate in use", "secret", s.key.String(), "reason", err.Error())
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    onSecret,
		UpdateFunc: func(_, obj any) { onSecret(obj) },
		// The rotator only updates its Secret: recreate it, empty, and
		// the rotator fills it with a new CA and certificate.
		DeleteFunc: func(any) {
			s.log.Info("Serving-certificate Secret deleted; recreating it and keeping the certificate in use until it is filled", "secret", s.key.String())
			if err := EnsureSecret(ctx, s.client, s.key); err != nil {
				s.log.Error(err, "Recreating the serving-certificate Secret")
			}
		},
	}); err != nil {
		return fmt.Errorf("watching Secret %s: %w", s.key, err)
	}
	inf.RunWithContext(ctx)
	if s.markDir != "" {
		_ = os.RemoveAll(s.markDir)
	}
	return nil
}

// update serves the Secret's pair if it is usable and new: tls.crt and
// tls.key match, and the certificate is valid now.
func (s *Source) update(sec *corev1.Secret) error {
	pair, err := parsePair(sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey], s.now())
	if err != nil {
		return err
	}
	if old := s.cur.Load(); old != nil && bytes.Equal(old.Certificate[0], pair.Certificate[0]) {
		return nil
	}
	if s.markDir != "" {
		if err := writeFile(filepath.Join(s.markDir, corev1.TLSCertKey), sec.Data[corev1.TLSCertKey]); err != nil {
			return fmt.Errorf("writing the certificate for the rotator: %w", err)
		}
	}
	s.cur.Store(pair)
	ch := make(chan struct{})
	close(*s.changed.Swap(&ch))
	s.log.Info("Serving a new certificate", "secret", s.key.String(), "serial", pair.Leaf.SerialNumber.String(),
		"notAfter", pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// parsePair returns the key pair if it is usable at now.
func parsePair(certPEM, keyPEM []byte, now time.Time) (*tls.Certificate, error) {
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return nil, errors.New("no tls.crt or tls.key")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing the key pair: %w", err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parsing the certificate: %w", err)
		}
		pair.Leaf = leaf
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("certificate valid only from %s to %s", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return &pair, nil
}

// writeFile replaces path atomically, so a reader never sees half a file.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
