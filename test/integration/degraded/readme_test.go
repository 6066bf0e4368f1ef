package degraded

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// bulletLabel matches a list item of the README's degraded-mode section,
// "- **Label.** ...", and captures the label.
var bulletLabel = regexp.MustCompile(`^- \*\*([^*]+)\.\*\*`)

// readmeLists returns the bullet labels of the "Denied" and "Allowed" lists
// of the README's "Degraded mode" section.
func readmeLists(t *testing.T) (denied, allowed []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(framework.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var in bool
	var list *[]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		switch {
		case strings.HasPrefix(line, "### Degraded mode"):
			in = true
		case in && strings.HasPrefix(line, "#"):
			return denied, allowed
		case in && strings.HasPrefix(line, "Denied"):
			list = &denied
		case in && strings.HasPrefix(line, "Allowed"):
			list = &allowed
		case in && list != nil:
			if m := bulletLabel.FindStringSubmatch(line); m != nil {
				*list = append(*list, m[1])
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if !in {
		t.Fatal(`README.md has no "### Degraded mode" section`)
	}
	return denied, allowed
}

// TestReadmeListMatchesRows fails when the README's degraded-mode lists and
// the rows TestDegradedMode measures drift apart: every bullet has a row,
// every row names a bullet of the right list.
func TestReadmeListMatchesRows(t *testing.T) {
	denied, allowed := readmeLists(t)
	if len(denied) == 0 || len(allowed) == 0 {
		t.Fatalf("README's degraded-mode section lists %d denied and %d allowed bullets; want both lists", len(denied), len(allowed))
	}
	covered := map[string]bool{}
	for _, r := range rows() {
		list, name := allowed, "Allowed"
		if len(r.webhooks) > 0 {
			list, name = denied, "Denied"
		}
		if !slices.Contains(list, r.bullet) {
			t.Errorf("row %q names bullet %q, which the README's %s list does not have (it has %q)", r.what, r.bullet, name, list)
		}
		covered[r.bullet] = true
	}
	for _, b := range append(denied, allowed...) {
		if !covered[b] {
			t.Errorf("README bullet %q has no row in rows_test.go", b)
		}
	}
}
