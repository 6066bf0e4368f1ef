package setup

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/canopyhq/canopy/internal/metrics"
)

func TestQuietConflicts(t *testing.T) {
	var lines []string
	base := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{Verbosity: 1})
	log := QuietConflicts(base).WithValues("controller", "quota")
	gr := schema.GroupResource{Group: "hnc.x-k8s.io", Resource: "hierarchicalresourcequotas"}
	before := metrics.Conflicts("quota", "hierarchicalresourcequotas.hnc.x-k8s.io")
	conflict := fmt.Errorf("updating status: %w", apierrors.NewConflict(gr, "q", fmt.Errorf("the object has been modified")))
	log.Error(conflict, "Reconciler error")
	if got := metrics.Conflicts("quota", "hierarchicalresourcequotas.hnc.x-k8s.io") - before; got != 1 {
		t.Errorf("conflicts counted %v, want 1", got)
	}
	if len(lines) != 1 || strings.Contains(lines[0], `"error"`) || !strings.Contains(lines[0], "conflict, retrying") {
		t.Errorf("conflict logged as %q, want one V(1) line", lines)
	}
	// Two writers creating one object: the loser's AlreadyExists is the
	// same race.
	lines = nil
	cm := schema.GroupResource{Resource: "configmaps"}
	before = metrics.Conflicts("quota", "configmaps")
	log.Error(fmt.Errorf("creating quota ledger: %w", apierrors.NewAlreadyExists(cm, "quota-ledger-pa")), "Reconciler error")
	if got := metrics.Conflicts("quota", "configmaps") - before; got != 1 {
		t.Errorf("lost creates counted %v, want 1", got)
	}
	if len(lines) != 1 || strings.Contains(lines[0], `"error"`) {
		t.Errorf("a lost create logged as %q, want one V(1) line", lines)
	}
	lines = nil
	log.Error(fmt.Errorf("boom"), "Reconciler error")
	if len(lines) != 1 || !strings.Contains(lines[0], `"error"="boom"`) {
		t.Errorf("other errors logged as %q, want an error line", lines)
	}
}
