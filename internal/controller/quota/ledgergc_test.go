package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStaleLedgers(t *testing.T) {
	roots := map[string]bool{"team-a": true, "team-b": true}
	got := StaleLedgers([]string{
		"quota-ledger-team-a",     // still a root
		"quota-ledger-team-c",     // moved under another tree, or deleted
		"quota-ledger-",           // no root: not a ledger name
		"unrelated-configmap",     // not a ledger
		"quota-ledger-team-b",     // still a root
		"quota-ledger-team-a-dev", // a descendant that was once a root
	}, func(ns string) bool { return roots[ns] })
	want := map[string]bool{"quota-ledger-team-c": true, "quota-ledger-team-a-dev": true}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("StaleLedgers (-want +got):\n%s", d)
	}
}
