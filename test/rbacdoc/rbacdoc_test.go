// Package rbacdoc checks that docs/rbac.md explains every permission the
// generated ClusterRole and Role (config/rbac/role.yaml) grant the manager:
// a new marker without a line in the document fails.
package rbacdoc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// row is one table row of docs/rbac.md: API groups, resources, verbs.
type row struct{ groups, resources, verbs string }

func rows(t *testing.T, root string) []row {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "docs", "rbac.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []row
	for _, l := range strings.Split(string(data), "\n") {
		cols := strings.Split(l, "|")
		if len(cols) < 5 || !strings.HasPrefix(l, "|") {
			continue
		}
		out = append(out, row{groups: cols[1], resources: cols[2], verbs: cols[3]})
	}
	return out
}

func TestEveryGrantIsExplained(t *testing.T) {
	root := repoRoot(t)
	doc := rows(t, root)
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	n := 0
	for {
		var role rbacv1.ClusterRole // a Role decodes the same: metadata and rules
		if err := dec.Decode(&role); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		for _, r := range role.Rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					n++
					checkExplained(t, doc, role.Kind, g, res, r.Verbs)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no rules read from config/rbac/role.yaml")
	}
}

func checkExplained(t *testing.T, doc []row, kind, group, resource string, verbs []string) {
	t.Helper()
	g := "`" + group + "`"
	if group == "" {
		g = "`\"\"`"
	}
	// Several rows may explain one resource, each for some verbs.
	found, explained := false, ""
	for _, r := range doc {
		// A namespaced Role's rows name the group with the resource.
		if !strings.Contains(r.resources, "`"+resource+"`") ||
			!(strings.Contains(r.groups, g) || strings.Contains(r.resources, g) || (group == "" && kind == "Role")) {
			continue
		}
		found, explained = true, explained+" "+r.verbs
	}
	if found {
		var missing []string
		for _, v := range verbs {
			if !strings.Contains(explained, v) {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			t.Errorf("docs/rbac.md explains %s %q %s without the verbs %v", kind, group, resource, missing)
		}
		return
	}
	t.Errorf("docs/rbac.md does not explain %s %q %s (verbs %v)", kind, group, resource, verbs)
}
