package fleettest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Endpoint is a member's API endpoint as the hub sees it: a TCP forwarder
// to the member's kube-apiserver that can be taken down (every connection
// closed, the port refusing) and brought back on the same port, as when a
// member's control plane stops and restarts. The member itself keeps
// running behind it, so its state survives the outage.
type Endpoint struct {
	Addr, target string
	mu           sync.Mutex
	l            net.Listener
	conns        map[net.Conn]bool
}

func NewEndpoint(t testing.TB, target string) *Endpoint {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &Endpoint{Addr: l.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	e.serve(l)
	t.Cleanup(e.Down)
	return e
}

func (e *Endpoint) serve(l net.Listener) {
	e.mu.Lock()
	e.l = l
	e.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go e.forward(c)
		}
	}()
}

func (e *Endpoint) forward(c net.Conn) {
	b, err := net.Dial("tcp", e.target)
	if err != nil {
		_ = c.Close()
		return
	}
	e.mu.Lock()
	if e.l == nil {
		e.mu.Unlock()
		_ = c.Close()
		_ = b.Close()
		return
	}
	e.conns[c], e.conns[b] = true, true
	e.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = b.Close()
	e.mu.Lock()
	delete(e.conns, c)
	delete(e.conns, b)
	e.mu.Unlock()
}

// Down closes the listener and every open connection.
func (e *Endpoint) Down() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.l != nil {
		_ = e.l.Close()
		e.l = nil
	}
	for c := range e.conns {
		_ = c.Close()
	}
	e.conns = map[net.Conn]bool{}
}

// Up listens again on the same address.
func (e *Endpoint) Up(t testing.TB) {
	t.Helper()
	l, err := net.Listen("tcp", e.Addr)
	if err != nil {
		t.Fatalf("re-listening on %s: %v", e.Addr, err)
	}
	e.serve(l)
}
