package setup

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/canopyhq/canopy/internal/cost/period"
)

func TestCostAPIAndExportFlags(t *testing.T) {
	o := DefaultOptions()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	o.BindFlags(fs)
	if o.Cost.API.BindAddress != ":8443" || o.Cost.Export.Period != "day" || o.Cost.Export.Grace != period.DefaultGrace {
		t.Errorf("defaults: %+v", o.Cost)
	}
	if err := fs.Parse([]string{
		"--cost-api-bind-address=127.0.0.1:9444", "--cost-api-cert-dir=/certs/api",
		"--cost-export-dir=/exports", "--cost-export-period=month", "--cost-export-grace=2h", "--cost-export-since=2026-01-01",
	}); err != nil {
		t.Fatal(err)
	}
	if o.Cost.API.BindAddress != "127.0.0.1:9444" || o.Cost.API.certDir("/certs/webhook") != "/certs/api" {
		t.Errorf("API options %+v", o.Cost.API)
	}
	if (CostAPIOptions{}).certDir("/certs/webhook") != "/certs/webhook" {
		t.Error("the API does not default to the webhook's certificate")
	}
	g, err := o.Cost.Export.granularity()
	if err != nil || g != period.Monthly || o.Cost.Export.Dir != "/exports" || o.Cost.Export.Grace != 2*time.Hour {
		t.Errorf("export options %+v, granularity %v %v", o.Cost.Export, g, err)
	}
	if s, err := o.Cost.Export.since(); err != nil || !s.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("since = %v, %v", s, err)
	}
	if _, err := (CostExportOptions{Period: "week"}).granularity(); err == nil || !strings.Contains(err.Error(), "want day or month") {
		t.Errorf("period week: %v", err)
	}
	if _, err := (CostExportOptions{Since: "January"}).since(); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
		t.Errorf("since January: %v", err)
	}
}

func TestCostAPIAndExportDisabledWithoutURL(t *testing.T) {
	o := DefaultOptions()
	o.BindFlags(flag.NewFlagSet("t", flag.ContinueOnError))
	o.Cost.Export.Dir = t.TempDir()
	// The manager panics on any use: nothing may be registered.
	if err := registerCostAPI(costUntouchableManager{}, Deps{Options: o}); err != nil {
		t.Errorf("registerCostAPI without a URL: %v", err)
	}
	if err := registerCostExport(costUntouchableManager{}, Deps{Options: o}); err != nil {
		t.Errorf("registerCostExport without a URL: %v", err)
	}
	o.Cost.OpenCostURL = "http://opencost:9003"
	o.Cost.Export.Period = "week"
	if err := registerCostExport(costUntouchableManager{}, Deps{Options: o}); err == nil || !strings.Contains(err.Error(), "--cost-export-period") {
		t.Errorf("registerCostExport with a bad period: %v", err)
	}
}
