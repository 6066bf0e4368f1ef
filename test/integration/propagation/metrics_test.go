package propagation

import (
	"context"
	"fmt"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// TestMetrics reads the manager's registry in-process (the manager runs in
// the test binary) after a Role was propagated.
func TestMetrics(t *testing.T) {
	tree(t, [][2]string{{"mt-root", ""}, {"mt-child", "mt-root"}})
	create(t, role("mt-root", "counted", nil, "get"))
	waitCopy(t, &rbacv1.Role{}, "mt-child", "counted", "mt-root", nil)
	framework.Eventually(t, timeout, func(context.Context) error {
		families, err := crmetrics.Registry.Gather()
		if err != nil {
			return err
		}
		want := map[string]bool{"canopy_propagation_source_objects": false, "canopy_propagation_propagated_objects": false, "canopy_propagation_writes_total": false}
		for _, mf := range families {
			if _, ok := want[mf.GetName()]; !ok {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "type" && l.GetValue() == "roles.rbac.authorization.k8s.io" &&
						m.GetGauge().GetValue()+m.GetCounter().GetValue() >= 1 {
						want[mf.GetName()] = true
					}
				}
			}
		}
		for name, seen := range want {
			if !seen {
				return fmt.Errorf("no %s for roles >= 1", name)
			}
		}
		return nil
	})
}
