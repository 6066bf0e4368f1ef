package grafanaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Do calls a Grafana API as a user with basic auth (no auth when user is
// empty), in organization orgID when it is not zero, encoding body and
// decoding the answer into out (either may be nil). A status other than
// 2xx is a *StatusError carrying the answer. It works against the double
// and against a real Grafana alike.
func Do(ctx context.Context, baseURL, user, password string, orgID int64, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding request body: %w", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, baseURL+path, r)
	if err != nil {
		return err
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if orgID != 0 {
		req.Header.Set("X-Grafana-Org-Id", strconv.FormatInt(orgID, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &StatusError{Code: resp.StatusCode, Body: string(b), Method: method, Path: path}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding %q: %w", method, path, b, err)
		}
	}
	return nil
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Code         int
	Method, Path string
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Path, e.Code, e.Body)
}

// HTTPStatus returns the status of a StatusError in err's chain, or 0.
func HTTPStatus(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// Admin calls the API as the server admin.
func (s *Server) Admin(ctx context.Context, method, path string, body, out any) error {
	return Do(ctx, s.URL, s.AdminUser, s.AdminPassword, 0, method, path, body, out)
}

// CreateUser creates a user through POST /api/admin/users, as the admin,
// and returns its id. Like Grafana, the user joins the main organization
// as a Viewer.
func (s *Server) CreateUser(ctx context.Context, login, email, password string) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	body := map[string]string{"name": login, "login": login, "email": email, "password": password}
	if err := s.Admin(ctx, http.MethodPost, "/api/admin/users", body, &out); err != nil {
		return 0, fmt.Errorf("creating Grafana user %q: %w", login, err)
	}
	return out.ID, nil
}

// AddUsers creates users directly in the state, each with the password
// "<login>-pw" and the email "<login>@example.com", as members (Viewers)
// of the main organization, and returns their ids in order. It makes no
// call, so it leaves the call log alone.
func (s *Server) AddUsers(logins ...string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(logins))
	for _, l := range logins {
		u := s.addUser(l, l+"@example.com", l, l+"-pw")
		s.state.Orgs[MainOrgID].Members[u.ID] = RoleViewer
		ids = append(ids, u.ID)
	}
	return ids
}

// AddServiceAccountToken makes a service-account token bound to one
// organization with an org role, as Grafana's service accounts are.
func (s *Server) AddServiceAccountToken(orgID int64, role string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Orgs[orgID] == nil || !validRole(role) {
		return "", fmt.Errorf("service account token: no organization %d or invalid role %q", orgID, role)
	}
	tok := "glsa_double_" + itoa(s.state.NewID())
	s.state.Tokens[tok] = Token{OrgID: orgID, Role: role}
	return tok, nil
}

// UserID returns the id of the user with this login or email, or 0.
func (s *Server) UserID(login string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.state.UserByLogin(login); u != nil {
		return u.ID
	}
	return 0
}

// OrgID returns the id of the organization with this name, or 0.
func (s *Server) OrgID(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.state.OrgByName(name); o != nil {
		return o.ID
	}
	return 0
}
