package grafana

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStart runs the real server: it becomes healthy on 127.0.0.1, the
// admin creates a user, and that user signs in with basic auth.
func TestStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, stop, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL %q is not on loopback", s.URL)
	}
	if _, err := s.CreateUser(ctx, "dora", "dora@example.com", "dora-pw"); err != nil {
		t.Fatal(err)
	}
	var me struct {
		Login string `json:"login"`
		Email string `json:"email"`
	}
	if err := Call(ctx, s.URL, "dora", "dora-pw", 0, http.MethodGet, "/api/user", nil, &me); err != nil {
		t.Fatal(err)
	}
	if me.Login != "dora" || me.Email != "dora@example.com" {
		t.Errorf("signed in as %+v, want dora", me)
	}
	err = Call(ctx, s.URL, "dora", "wrong", 0, http.MethodGet, "/api/user", nil, nil)
	if HTTPStatus(err) != http.StatusUnauthorized {
		t.Errorf("wrong password: got %v, want 401", err)
	}
	stop()
	select {
	case <-s.Done():
	default:
		t.Error("Grafana still running after stop")
	}
}
