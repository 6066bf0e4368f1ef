// Command chart-dashboards writes the team dashboards, built by package
// dashboards with its placeholders for the per-team values, as
// <name>.json into a directory: the Helm chart's canopy-dashboards
// ConfigMap reads them from charts/canopy/dashboards. It also writes the
// operations dashboard as operations/canopy-operations.json, which the
// chart's canopy-operations-dashboard ConfigMap reads. `make chart-sync`
// runs it, and `make verify` fails when the chart's copies drift from the
// code.
//
//	go run ./dashboards/cmd/chart-dashboards charts/canopy/dashboards
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/canopyhq/canopy/dashboards"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: chart-dashboards DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "chart-dashboards:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range dashboards.Names() {
		b, err := dashboards.JSON(name, dashboards.Placeholders())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	ops, err := dashboards.OperationsJSON()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "operations"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "operations", dashboards.OperationsUID+".json"), ops, 0o644); err != nil {
		return fmt.Errorf("writing the operations dashboard: %w", err)
	}
	return nil
}
