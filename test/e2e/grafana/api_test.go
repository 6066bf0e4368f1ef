package grafana

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	gfapi "github.com/canopyhq/canopy/internal/grafana"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// tenantFixture is one Tenant: its own team (owned by a Grafana user, or by
// a group and so with no Grafana member) and one more team.
type tenantFixture struct {
	name       string
	policy     tenancyv1.DeletionPolicy
	ownerUser  string // a Kubernetes User, so a member of the tenant's own team; "" for a group
	team       string
	teamNS     string
	teamMember string
}

var tenants = map[string]tenantFixture{
	"acme":   {name: "acme", policy: tenancyv1.DeletionDelete, ownerUser: "olivia", team: "web", teamNS: "acme-web", teamMember: "alice"},
	"globex": {name: "globex", policy: tenancyv1.DeletionRetain, team: "api", teamNS: "globex-api", teamMember: "bob"},
}

func (tf tenantFixture) teams() []string      { return []string{tf.name, tf.team} }
func (tf tenantFixture) namespaces() []string { return []string{tf.name, tf.teamNS} }

func (tf tenantFixture) object() *tenancyv1.Tenant {
	owner := rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: tf.name + "-leads"}
	if tf.ownerUser != "" {
		owner = rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: tf.ownerUser}
	}
	return &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: tf.name},
		Spec: tenancyv1.TenantSpec{
			Owners:         []rbacv1.Subject{owner},
			Namespaces:     []tenancyv1.TenantNamespace{{Name: tf.teamNS}},
			Teams:          []tenancyv1.Team{{Name: tf.team, Namespace: tf.teamNS, Grafana: &tenancyv1.GrafanaMembers{Members: []string{tf.teamMember}}}},
			DeletionPolicy: tf.policy,
		},
	}
}

// createTenants creates both Tenants and waits until Grafana is synced.
func createTenants(t *testing.T) map[string]*tenancyv1.Tenant {
	t.Helper()
	ctx := context.Background()
	admin := s.env.Admin(t)
	out := map[string]*tenancyv1.Tenant{}
	for _, name := range sortedKeys(tenants) {
		if err := admin.Create(ctx, tenants[name].object()); err != nil {
			t.Fatalf("creating Tenant %s: %v", name, err)
		}
	}
	for _, name := range sortedKeys(tenants) {
		framework.Eventually(t, 90*time.Second, func(ctx context.Context) error {
			tn := &tenancyv1.Tenant{}
			if err := admin.Get(ctx, client.ObjectKey{Name: name}, tn); err != nil {
				return err
			}
			c := meta.FindStatusCondition(tn.Status.Conditions, tenancyv1.ConditionDashboardsReady)
			if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != tn.Generation {
				return fmt.Errorf("tenant %s: DashboardsReady is %+v", name, c)
			}
			if tn.Status.DashboardURL == "" {
				return fmt.Errorf("tenant %s: no dashboardURL", name)
			}
			out[name] = tn
			return nil
		})
	}
	return out
}

// as calls Grafana's API as one of the users, in an organization.
func as(ctx context.Context, user string, orgID int64, method, path string, body, out any) error {
	pw, ok := users[user]
	if !ok {
		return fmt.Errorf("unknown test user %q", user)
	}
	return grafanaapi.Do(ctx, s.grafana.URL, user, pw, orgID, method, path, body, out)
}

// orgID reads the tenant's organization through the double's Go API, so
// the call log's reads of /api/orgs/name/ are the manager's alone.
func orgID(t *testing.T, tenant string) int64 {
	t.Helper()
	id := s.grafana.OrgID(tenant)
	if id == 0 {
		t.Fatalf("organization %s not found", tenant)
	}
	return id
}

type searchHit struct {
	UID       string `json:"uid"`
	Title     string `json:"title"`
	Type      string `json:"type"`
	FolderUID string `json:"folderUid"`
}

func search(ctx context.Context, user string, org int64, query string) ([]searchHit, error) {
	var hits []searchHit
	err := as(ctx, user, org, http.MethodGet, "/api/search?"+query, nil, &hits)
	return hits, err
}

type permission struct {
	TeamID     int64  `json:"teamId"`
	UserID     int64  `json:"userId"`
	Role       string `json:"role"`
	Permission int64  `json:"permission"`
	Inherited  bool   `json:"inherited"`
}

func folderPermissions(ctx context.Context, org int64, folderUID string) ([]permission, error) {
	var perms []permission
	err := grafanaapi.Do(ctx, s.grafana.URL, s.grafana.AdminUser, s.grafana.AdminPassword, org, http.MethodGet,
		"/api/folders/"+folderUID+"/permissions", nil, &perms)
	return perms, err
}

// target is one query of a panel, as stored in the dashboard.
type target struct {
	RefID      string         `json:"refId"`
	Datasource map[string]any `json:"datasource"`
	Expr       string         `json:"expr"`
	Range      bool           `json:"range"`
	Instant    bool           `json:"instant"`
	Format     string         `json:"format,omitempty"`
}

type dashboardModel struct {
	Dashboard struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			Title   string   `json:"title"`
			Targets []target `json:"targets"`
		} `json:"panels"`
	} `json:"dashboard"`
	Meta struct {
		FolderUID string `json:"folderUid"`
	} `json:"meta"`
}

// queryResult is what /api/ds/query answered for one target: the labels of
// each series and how many non-null values they held in all.
type queryResult struct {
	Series []map[string]string
	Values int
	Error  string
}

// interpolate does what Grafana's frontend does to a panel's query before
// /api/ds/query (which takes it as is): the dashboards' cluster variable at
// its default, All, becomes its all value. The synthetic series carry no
// cluster label, as on a single cluster, so this also checks that All
// matches them.
func interpolate(expr string) string { return strings.ReplaceAll(expr, "$cluster", ".*") }

// query runs one target through Grafana's datasource query API as user.
func query(ctx context.Context, user string, org int64, dsUID string, tg target) (queryResult, error) {
	now := time.Now()
	q := map[string]any{
		"refId":         "A",
		"datasource":    map[string]any{"type": "prometheus", "uid": dsUID},
		"expr":          interpolate(tg.Expr),
		"range":         tg.Range || !tg.Instant,
		"instant":       tg.Instant,
		"intervalMs":    60000,
		"maxDataPoints": 120,
	}
	if tg.Format != "" {
		q["format"] = tg.Format
	}
	body := map[string]any{
		"from":    strconv.FormatInt(now.Add(-time.Hour).UnixMilli(), 10),
		"to":      strconv.FormatInt(now.UnixMilli(), 10),
		"queries": []any{q},
	}
	var resp struct {
		Results map[string]struct {
			Error  string `json:"error"`
			Frames []struct {
				Schema struct {
					Fields []struct {
						Labels map[string]string `json:"labels"`
					} `json:"fields"`
				} `json:"schema"`
				Data struct {
					Values [][]any `json:"values"`
				} `json:"data"`
			} `json:"frames"`
		} `json:"results"`
	}
	if err := as(ctx, user, org, http.MethodPost, "/api/ds/query", body, &resp); err != nil {
		return queryResult{}, err
	}
	r := resp.Results["A"]
	out := queryResult{Error: r.Error}
	for _, f := range r.Frames {
		for i, field := range f.Schema.Fields {
			if i == 0 || i >= len(f.Data.Values) {
				continue // the time column
			}
			if field.Labels != nil {
				out.Series = append(out.Series, field.Labels)
			}
			for _, v := range f.Data.Values[i] {
				if v != nil {
					out.Values++
				}
			}
		}
	}
	return out, nil
}

func datasourceUID(tenant string) string { return gfapi.DatasourceUID(tenant) }
