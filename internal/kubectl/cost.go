package kubectl

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
)

// Cost output formats.
const (
	CostTable = "table"
	CostCSV   = "csv"
	CostJSON  = "json"
)

// CostOptions shape the cost view.
type CostOptions struct {
	// Tenants to report; empty means every tenant the caller may see.
	Tenants []string
	// Window is START,END (dates or RFC 3339), lastmonth or mtd.
	Window string
	// Output is table, csv or json.
	Output string
	// Summary reports one row per team instead of one per namespace.
	Summary bool
	// Now checks relative windows locally; zero means the clock.
	Now time.Time
}

// CostAPI reads the aggregated API cost.canopy.dev.
type CostAPI interface {
	// Tenants lists the tenants the caller may see.
	Tenants(ctx context.Context) ([]string, error)
	// Chargeback reads one tenant's chargeback in format (csv or json).
	Chargeback(ctx context.Context, tenant, window, format string, summary bool) ([]byte, error)
}

// RESTCostAPI is CostAPI over the API server, with the user's credentials.
type RESTCostAPI struct{ rest.Interface }

// NewRESTCostAPI returns a CostAPI for cfg.
func NewRESTCostAPI(cfg *rest.Config) (*RESTCostAPI, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.GroupVersion = &costapi.GroupVersion
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	c, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the cost API client: %w", err)
	}
	return &RESTCostAPI{c}, nil
}

// get reads path; an error response becomes an *errors.StatusError with
// the server's message.
func (a *RESTCostAPI) get(ctx context.Context, path string, params map[string]string) ([]byte, error) {
	req := a.Get().AbsPath(path)
	for k, v := range params {
		req = req.Param(k, v)
	}
	res := req.Do(ctx)
	body, _ := res.Raw()
	if err := res.Error(); err != nil {
		return nil, explainCostError(err)
	}
	return body, nil
}

// Tenants implements CostAPI.
func (a *RESTCostAPI) Tenants(ctx context.Context) ([]string, error) {
	body, err := a.get(ctx, costapi.PathTenants, nil)
	if err != nil {
		return nil, fmt.Errorf("listing the tenants whose cost you may see: %w", err)
	}
	var list costapi.TenantList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("decoding the tenant list: %w", err)
	}
	names := make([]string, 0, len(list.Items))
	for _, t := range list.Items {
		names = append(names, t.Name)
	}
	return names, nil
}

// Chargeback implements CostAPI.
func (a *RESTCostAPI) Chargeback(ctx context.Context, tenant, window, format string, summary bool) ([]byte, error) {
	body, err := a.get(ctx, costapi.ChargebackPath(tenant), map[string]string{
		"window": window, "format": format, "summary": strconv.FormatBool(summary),
	})
	if err != nil {
		return nil, fmt.Errorf("reading the cost of tenant %q: %w", tenant, err)
	}
	return body, nil
}

// explainCostError adds a hint when the API itself is missing, as opposed
// to a tenant the API does not know.
func explainCostError(err error) error {
	var se *apierrors.StatusError
	if !errors.As(err, &se) || !apierrors.IsNotFound(err) {
		return err
	}
	if d := se.ErrStatus.Details; d != nil && d.Group == costapi.TenantResource.Group {
		return err
	}
	return fmt.Errorf("%w (is the cost API installed, config/costapi, and the manager running with --opencost-url?)", err)
}

// Cost prints the chargeback of o.Tenants, or of every tenant the caller
// may see, over o.Window.
func Cost(ctx context.Context, api CostAPI, w io.Writer, o CostOptions) error {
	switch o.Output {
	case "", CostTable, CostCSV, CostJSON:
	default:
		return fmt.Errorf("unsupported --output %q: must be table, csv or json", o.Output)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if o.Window == "" {
		o.Window = "mtd"
	}
	// Checked here for a quick, clear error; the server computes the
	// window itself.
	if _, err := period.ParseWindow(o.Window, now); err != nil {
		return fmt.Errorf("--window: %w", err)
	}
	tenants := o.Tenants
	if len(tenants) == 0 {
		var err error
		if tenants, err = api.Tenants(ctx); err != nil {
			return err
		}
		if len(tenants) == 0 {
			return errors.New("you may see the cost of no tenant: name one, or ask for get on a Tenant (owners have it; the canopy-finance ClusterRole grants all)")
		}
	}
	format := CostCSV
	if o.Output == CostJSON {
		format = CostJSON
	}
	// Read everything before printing, so a failure prints nothing.
	bodies := make([][]byte, 0, len(tenants))
	for _, t := range tenants {
		b, err := api.Chargeback(ctx, t, o.Window, format, o.Summary)
		if err != nil {
			return err
		}
		bodies = append(bodies, b)
	}
	var buf bytes.Buffer
	var err error
	switch o.Output {
	case CostJSON:
		err = writeCostJSON(&buf, bodies)
	case CostCSV:
		err = writeCostCSV(&buf, bodies)
	default:
		err = writeCostTable(&buf, bodies, o.Summary)
	}
	if err != nil {
		return err
	}
	_, err = buf.WriteTo(w)
	return err
}

// writeCostJSON prints one Chargeback document, or a list of them.
func writeCostJSON(w io.Writer, bodies [][]byte) error {
	if len(bodies) == 1 {
		_, err := w.Write(bodies[0])
		return err
	}
	items := make([]json.RawMessage, len(bodies))
	for i, b := range bodies {
		items[i] = json.RawMessage(b)
	}
	out, err := json.MarshalIndent(map[string]any{
		"apiVersion": costapi.GroupVersion.String(), "kind": "ChargebackList", "items": items,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the chargeback list: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}

// readCSVs parses each tenant's CSV, checking they share one header.
func readCSVs(bodies [][]byte) (header []string, rows [][]string, err error) {
	for i, b := range bodies {
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			return nil, nil, fmt.Errorf("parsing chargeback CSV: %w", err)
		}
		if len(recs) == 0 {
			return nil, nil, errors.New("empty chargeback CSV: no header")
		}
		if i == 0 {
			header = recs[0]
		} else if !slices.Equal(header, recs[0]) {
			return nil, nil, fmt.Errorf("chargeback CSVs have different headers: %q and %q", header, recs[0])
		}
		rows = append(rows, recs[1:]...)
	}
	return header, rows, nil
}

// writeCostCSV prints the tenants' CSVs as one, with one header.
func writeCostCSV(w io.Writer, bodies [][]byte) error {
	header, rows, err := readCSVs(bodies)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}

// writeCostTable prints the main columns of the CSV, amounts in cents as
// the API rounded them, so each tenant's namespace rows add up.
func writeCostTable(w io.Writer, bodies [][]byte, summary bool) error {
	header, rows, err := readCSVs(bodies)
	if err != nil {
		return err
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	third, thirdName := "namespace", "NAMESPACE"
	if summary {
		third, thirdName = "team_path", "TEAM PATH"
	}
	cols := []struct{ title, name string }{
		{"TENANT", "tenant"}, {"TEAM", "team"}, {thirdName, third},
		{"CPU", "cpu_cost"}, {"RAM", "ram_cost"}, {"GPU", "gpu_cost"}, {"STORAGE", "pv_cost"},
		{"NETWORK", "network_cost"}, {"SHARED", "shared_cost"}, {"IDLE", "idle_cost"}, {"TOTAL", "total_cost"}, {"CURRENCY", "currency"},
	}
	for _, c := range cols {
		if _, ok := col[c.name]; !ok {
			return fmt.Errorf("chargeback CSV has no %s column", c.name)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(rows) > 0 {
		fmt.Fprintf(tw, "WINDOW %s .. %s\n", rows[0][col["period_start"]], rows[0][col["period_end"]])
	}
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.title
	}
	fmt.Fprintln(tw, strings.Join(titles, "\t"))
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = r[col[c.name]]
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if len(rows) == 0 {
		fmt.Fprintln(tw, "(no cost in this window)")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	return nil
}
