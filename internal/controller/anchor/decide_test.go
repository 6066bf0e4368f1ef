package anchor

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func TestDecide(t *testing.T) {
	base := Facts{Parent: "p", Name: "c", HasFinalizer: true}
	with := func(mod func(*Facts)) Facts {
		f := base
		mod(&f)
		return f
	}
	ours := func(f *Facts) { f.ChildExists, f.ChildSubnamespaceOf = true, "p" }
	tests := []struct {
		name  string
		facts Facts
		want  Decision
	}{
		{"missing namespace is created", base, Decision{State: api.Missing, Finalizer: true, Action: CreateNamespace}},
		{"finalizer added to a new anchor", with(func(f *Facts) { f.HasFinalizer = false }), Decision{State: api.Missing, Finalizer: true, Action: CreateNamespace}},
		{"own subnamespace is Ok", with(ours), Decision{State: api.Ok, Finalizer: true}},
		{"full namespace is a Conflict", with(func(f *Facts) { f.ChildExists = true }), Decision{State: api.Conflict, Finalizer: true}},
		{"another parent's subnamespace is a Conflict", with(func(f *Facts) { f.ChildExists, f.ChildSubnamespaceOf = true, "q" }), Decision{State: api.Conflict, Finalizer: true}},
		{"excluded parent is Forbidden and creates nothing", with(func(f *Facts) { f.ParentExcluded = "excluded" }), Decision{State: api.Forbidden, Finalizer: true}},
		{"excluded child is Forbidden", with(func(f *Facts) { f.ChildExcluded = "excluded"; ours(f) }), Decision{State: api.Forbidden, Finalizer: true}},
		{"deleted anchor deletes its leaf subnamespace", with(func(f *Facts) { ours(f); f.Deleting = true }), Decision{State: api.Ok, Finalizer: true, Action: DeleteNamespace}},
		{"deleted anchor waits while the subnamespace terminates", with(func(f *Facts) { ours(f); f.Deleting, f.ChildTerminating = true, true }), Decision{State: api.Ok, Finalizer: true, Action: WaitForDeletion}},
		{"deleted anchor releases once the namespace is gone", with(func(f *Facts) { f.Deleting = true }), Decision{State: api.Missing}},
		{"deleted anchor never deletes a namespace it does not own", with(func(f *Facts) { f.Deleting, f.ChildExists = true, true }), Decision{State: api.Conflict}},
		{"deleted anchor leaves a subtree without cascading deletion", with(func(f *Facts) { ours(f); f.Deleting, f.ChildHasChildren = true, true }), Decision{State: api.Ok}},
		{"deleted anchor deletes a subtree with cascading deletion", with(func(f *Facts) {
			ours(f)
			f.Deleting, f.ChildHasChildren, f.ChildAllowsCascading = true, true, true
		}), Decision{State: api.Ok, Finalizer: true, Action: DeleteNamespace}},
		{"anchor deleted with its CRD leaves the subnamespace (uninstall)", with(func(f *Facts) { ours(f); f.Deleting, f.CRDDeleting = true, true }), Decision{State: api.Ok}},
		{"anchor deleted with its CRD leaves a cascading subtree too", with(func(f *Facts) {
			ours(f)
			f.Deleting, f.CRDDeleting, f.ChildHasChildren, f.ChildAllowsCascading = true, true, true, true
		}), Decision{State: api.Ok}},
		{"deleted forbidden anchor deletes nothing", with(func(f *Facts) { ours(f); f.Deleting, f.ChildExcluded = true, "x" }), Decision{State: api.Forbidden}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Decide(tc.facts)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}
