package costapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// Server serves a Handler over TLS, asking for (not requiring) a client
// certificate: the front proxy's is verified by the request-header
// authenticator, against the CA the API server publishes. It runs on every
// replica: it only reads.
type Server struct {
	// Addr is host:port to listen on.
	Addr string
	// CertDir holds tls.crt and tls.key, reloaded when they change.
	CertDir string
	// GetCertificate, when set, serves the certificate instead of CertDir.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	Handler        http.Handler
	// Auth, when set, is run for as long as the server.
	Auth *DelegatingAuth
	Log  logr.Logger
}

// NeedLeaderElection is false: every replica serves.
func (s *Server) NeedLeaderElection() bool { return false }

// Start serves until ctx is done.
func (s *Server) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	getCert := s.GetCertificate
	if getCert == nil {
		watcher, err := certwatcher.New(filepath.Join(s.CertDir, "tls.crt"), filepath.Join(s.CertDir, "tls.key"))
		if err != nil {
			return fmt.Errorf("loading the cost API's serving certificate from %s: %w", s.CertDir, err)
		}
		go func() {
			if err := watcher.Start(ctx); err != nil {
				s.Log.Error(err, "Watching the cost API's serving certificate failed")
			}
		}()
		getCert = watcher.GetCertificate
	}
	if s.Auth != nil {
		go s.Auth.Run(ctx)
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s for the cost API: %w", s.Addr, err)
	}
	srv := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: getCert,
			ClientAuth:     tls.RequestClientCert,
		},
		// A non-nil empty map turns HTTP/2 off: HTTP/1.1 only, as
		// controller-runtime's webhook server defaults to, against HTTP/2
		// stream-reset floods.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}()
	s.Log.Info("Serving the cost API", "address", ln.Addr().String())
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the cost API: %w", err)
	}
	cancel()
	<-done
	return nil
}
