package hierarchy

import (
	"testing"
)

// Tree mv-r <- {mv-a, mv-b}, mv-a <- mv-n, and a second tree mv-x. Each
// user may update the moving namespace's own HierarchyConfiguration; the
// webhook decides the rest.
func TestMoveAuthorization(t *testing.T) {
	createNS(t, "mv-r", "mv-a", "mv-b", "mv-n", "mv-x", "mv-lone")
	mustSetParent(t, "mv-a", "mv-r")
	mustSetParent(t, "mv-b", "mv-r")
	mustSetParent(t, "mv-n", "mv-a")

	user := func(name string, namespaces ...string) func(ns, parent string) error {
		c, _, err := env.UserClient(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range namespaces {
			grantHCUpdate(t, name, ns)
		}
		return func(ns, parent string) error { return setParent(c, ns, parent) }
	}

	// Within a tree the user needs the common ancestor of old and new
	// parent (mv-r), not just the parents.
	bob := user("bob", "mv-n", "mv-a", "mv-b")
	wantDenied(t, bob("mv-n", "mv-b"), `needs permission to update the HierarchyConfiguration in "mv-r"`)
	alice := user("alice", "mv-n", "mv-r")
	if err := alice("mv-n", "mv-b"); err != nil {
		t.Fatalf("alice may move mv-n within mv-r: %v", err)
	}
	waitTreeLabels(t, "mv-n", map[string]string{depth("mv-r"): "2", depth("mv-b"): "1", depth("mv-n"): "0", "canopy.dev/in-tree": "true"})

	// Across trees the user needs the old root and the new parent.
	wantDenied(t, alice("mv-n", "mv-x"), `"mv-x"`)
	carol := user("carol", "mv-n", "mv-r", "mv-x")
	if err := carol("mv-n", "mv-x"); err != nil {
		t.Fatalf("carol may move mv-n to mv-x: %v", err)
	}
	waitTreeLabels(t, "mv-n", map[string]string{depth("mv-x"): "1", depth("mv-n"): "0", "canopy.dev/in-tree": "true"})

	// Becoming a root needs the old root.
	dave := user("dave", "mv-n")
	wantDenied(t, dave("mv-n", ""), `"mv-x"`)
	// A root joining a tree needs the new parent.
	frank := user("frank", "mv-lone")
	wantDenied(t, frank("mv-lone", "mv-b"), `"mv-b"`)
	erin := user("erin", "mv-lone", "mv-b")
	if err := erin("mv-lone", "mv-b"); err != nil {
		t.Fatalf("erin may move mv-lone under mv-b: %v", err)
	}
}
