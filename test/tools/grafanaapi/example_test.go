package grafanaapi_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// Start the double, make a user, act through the HTTP API as anyone would,
// then read what the double holds and what was written.
func Example() {
	s, err := grafanaapi.Start(grafanaapi.Options{AdminPassword: "secret"})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, "alice", "alice@example.com", "alice-pw"); err != nil {
		panic(err)
	}
	mark := s.Mark()
	var org struct {
		OrgID int64 `json:"orgId"`
	}
	if err := s.Admin(ctx, http.MethodPost, "/api/orgs", map[string]string{"name": "acme"}, &org); err != nil {
		panic(err)
	}
	// Alice belongs to the main organization only.
	err = grafanaapi.Do(ctx, s.URL, "alice", "alice-pw", org.OrgID, http.MethodGet, "/api/search", nil, nil)
	fmt.Println("alice in acme:", grafanaapi.HTTPStatus(err))
	for _, c := range s.WritesSince(mark) {
		fmt.Println("write:", c.Method, c.Path, c.Login, c.Status)
	}
	for _, o := range s.Objects() {
		fmt.Println(o)
	}
	// Output:
	// alice in acme: 401
	// write: POST /api/orgs admin 200
	// org Main Org.
	// org Main Org. member admin Admin
	// org Main Org. member alice Viewer
	// org acme
	// org acme member admin Admin
}
