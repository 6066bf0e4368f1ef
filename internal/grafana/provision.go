package grafana

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/go-logr/logr"
)

// Provisioner converges Grafana onto a TenantState. It holds no state of
// its own between calls: every Sync reads what Grafana has, decides what
// differs, and writes only that.
type Provisioner struct {
	// Client talks to Grafana.
	Client Client
	// BaseURL is Grafana's address as users reach it, for the dashboard URL.
	BaseURL string
	// SharedOrgID, when set, puts every tenant in that one organization
	// instead of one organization per tenant. Use it when the credentials
	// are a service-account token, which is bound to one organization and
	// cannot create others. It isolates dashboards, not data: any user of
	// the organization can query every tenant's datasource.
	SharedOrgID int64
}

// Result is what a Sync or Teardown did, for the Tenant's conditions.
type Result struct {
	// OrgID is the tenant's organization.
	OrgID int64
	// DashboardURL opens the tenant's own folder in its organization.
	DashboardURL string
	// MissingUsers are member or viewer names with no Grafana user, sorted.
	// They are left out; everything else is still provisioned.
	MissingUsers []string
	// Writes counts the write calls made; zero means nothing had drifted.
	Writes int
}

// Sync converges Grafana onto st. Unknown users are reported in the Result,
// not returned as errors. An error from one team does not stop the others;
// all errors are joined into the one returned.
func (p *Provisioner) Sync(ctx context.Context, st TenantState) (Result, error) {
	if err := st.validate(); err != nil {
		return Result{}, fmt.Errorf("invalid desired Grafana state: %w", err)
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("tenant", st.Tenant)
	c := &countingClient{Client: p.Client}
	s := &syncer{p: p, c: c, st: st}
	res, err := s.run(ctx)
	res.Writes = c.writes
	if res.Writes > 0 {
		log.V(1).Info("Reverted Grafana drift", "writes", res.Writes)
	}
	if len(res.MissingUsers) > 0 {
		log.Info("Grafana users not found", "users", res.MissingUsers)
	}
	return res, err
}

type syncer struct {
	p     *Provisioner
	c     *countingClient
	st    TenantState
	orgID int64
	// users maps every resolvable member or viewer name to its user.
	users map[string]User
}

func (s *syncer) run(ctx context.Context) (Result, error) {
	var res Result
	orgID, err := s.ensureOrg(ctx)
	if err != nil {
		return res, err
	}
	s.orgID, res.OrgID = orgID, orgID

	res.MissingUsers, err = s.resolveUsers(ctx)
	if err != nil {
		return res, err
	}
	if err := s.syncOrgUsers(ctx); err != nil {
		return res, err
	}
	if err := s.ensureDatasource(ctx); err != nil {
		return res, err
	}

	var errs []error
	folders := map[string]Folder{}
	for _, team := range s.st.Teams {
		f, err := s.syncTeam(ctx, team)
		if err != nil {
			errs = append(errs, fmt.Errorf("team %q: %w", team.Name, err))
			continue
		}
		folders[team.Name] = f
	}
	if err := s.pruneTeams(ctx); err != nil {
		errs = append(errs, err)
	}
	res.DashboardURL = s.dashboardURL(folders)
	return res, errors.Join(errs...)
}

func (s *syncer) ensureOrg(ctx context.Context) (int64, error) {
	if s.p.SharedOrgID != 0 {
		return s.p.SharedOrgID, nil
	}
	name := s.st.orgName()
	org, err := s.c.GetOrgByName(ctx, name)
	switch {
	case err == nil:
		return org.ID, nil
	case !errors.Is(err, ErrNotFound):
		return 0, fmt.Errorf("reading organization %q: %w", name, err)
	}
	id, err := s.c.CreateOrg(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("creating organization %q: %w", name, err)
	}
	return id, nil
}

func (s *syncer) ensureDatasource(ctx context.Context) error {
	want := Datasource{
		UID:       DatasourceUID(s.st.Tenant),
		Name:      "Prometheus (" + s.st.Tenant + ")",
		Type:      "prometheus",
		URL:       s.st.DatasourceURL,
		Access:    "proxy",
		IsDefault: s.p.SharedOrgID == 0,
		JSONData:  map[string]any{"httpMethod": "POST"},
	}
	if s.st.DatasourceToken != "" {
		// Grafana's custom header pair: the name in jsonData, the value
		// in secureJsonData. The fingerprint says which token is stored,
		// since the stored value cannot be read back.
		want.JSONData[datasourceHeaderName] = "Authorization"
		want.JSONData[datasourceTokenFingerprint] = tokenFingerprint(s.st.DatasourceToken)
		want.SecureJSONData = map[string]string{datasourceHeaderValue: "Bearer " + s.st.DatasourceToken}
	}
	got, err := s.c.GetDatasource(ctx, s.orgID, want.UID)
	switch {
	case errors.Is(err, ErrNotFound):
		if err := s.c.CreateDatasource(ctx, s.orgID, want); err != nil {
			return fmt.Errorf("creating datasource %q: %w", want.UID, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading datasource %q: %w", want.UID, err)
	}
	if datasourceMatches(want, got) {
		return nil
	}
	if err := s.c.UpdateDatasource(ctx, s.orgID, want); err != nil {
		return fmt.Errorf("updating datasource %q: %w", want.UID, err)
	}
	return nil
}

// datasourceMatches compares the fields Canopy sets; JSONData keys Grafana
// or an admin added are tolerated, changed ones are not.
func datasourceMatches(want, got Datasource) bool {
	if want.Name != got.Name || want.Type != got.Type || want.URL != got.URL ||
		want.Access != got.Access || want.IsDefault != got.IsDefault {
		return false
	}
	for k, v := range want.JSONData {
		if !reflect.DeepEqual(normalizeJSON(v), normalizeJSON(got.JSONData[k])) {
			return false
		}
	}
	for k := range want.SecureJSONData {
		if !got.SecureJSONFields[k] {
			return false
		}
	}
	return true
}

// Keys of the datasource's jsonData and secureJsonData that carry the
// proxy token.
const (
	datasourceHeaderName       = "httpHeaderName1"
	datasourceHeaderValue      = "httpHeaderValue1"
	datasourceTokenFingerprint = "canopyTokenFingerprint"
)

// tokenFingerprint identifies a token without revealing it: the token is
// an HMAC output, so its hash gives nothing to guess from.
func tokenFingerprint(token string) string {
	sum := sha256.Sum256([]byte("canopy datasource token\x00" + token))
	return hex.EncodeToString(sum[:8])
}

func (s *syncer) syncTeam(ctx context.Context, team TeamState) (Folder, error) {
	gt, err := s.ensureTeam(ctx, team)
	if err != nil {
		return Folder{}, err
	}
	if err := s.syncMembers(ctx, gt, team); err != nil {
		return Folder{}, err
	}
	folder, err := s.ensureFolder(ctx, team)
	if err != nil {
		return Folder{}, err
	}
	if err := s.syncFolderPermissions(ctx, folder.UID, gt, team); err != nil {
		return Folder{}, err
	}
	if err := s.syncDashboards(ctx, folder.UID, team); err != nil {
		return Folder{}, err
	}
	return folder, nil
}

func (s *syncer) syncDashboards(ctx context.Context, folderUID string, team TeamState) error {
	models, err := TeamDashboards(s.st, team)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(models))
	for name := range models {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		want := Dashboard{FolderUID: folderUID, Model: models[name]}
		uid := DashboardUID(s.st.Tenant, team.Name, name)
		got, err := s.c.GetDashboard(ctx, s.orgID, uid)
		switch {
		case err == nil && dashboardMatches(want, got):
			continue
		case err != nil && !errors.Is(err, ErrNotFound):
			return fmt.Errorf("reading dashboard %q: %w", uid, err)
		}
		if err := s.c.UpsertDashboard(ctx, s.orgID, want); err != nil {
			return fmt.Errorf("writing dashboard %q: %w", uid, err)
		}
	}
	return nil
}

// dashboardURL links to the tenant's own folder, or the first team's when
// the tenant has no team of its own name, in the tenant's organization.
func (s *syncer) dashboardURL(folders map[string]Folder) string {
	f, ok := folders[s.st.Tenant]
	if !ok && len(s.st.Teams) > 0 {
		f, ok = folders[s.st.Teams[0].Name]
	}
	if !ok || f.URL == "" {
		return ""
	}
	u := strings.TrimSuffix(s.p.BaseURL, "/") + f.URL
	return u + "?" + url.Values{"orgId": {fmt.Sprint(s.orgID)}}.Encode()
}
