package kubectl

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func TestCommandName(t *testing.T) {
	tests := map[string]string{
		"kubectl-hns":                    NameHNS,
		"/usr/local/bin/kubectl-hns":     NameHNS,
		`C:\bin\kubectl-hns.exe`:         NameCanopy, // not a path on this OS
		"kubectl-hns.exe":                NameHNS,
		"/usr/local/bin/kubectl-canopy":  NameCanopy,
		"./kubectl-canopy":               NameCanopy,
		"/tmp/go-build123/exe/something": NameCanopy,
	}
	for in, want := range tests {
		if got := CommandName(in); got != want {
			t.Errorf("CommandName(%q) = %q, want %q", in, got, want)
		}
	}
}

// run executes the command line against c and returns stdout, stderr and
// the error; clientBuilt reports whether the client factory was called.
func run(t *testing.T, name string, c client.Client, args ...string) (string, string, error, bool) {
	t.Helper()
	var out, errOut bytes.Buffer
	built := false
	cmd := NewRootCommand(RootOptions{
		Name:      name,
		IOStreams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		NewClient: func(genericclioptions.RESTClientGetter) (client.Client, error) {
			built = true
			return c, nil
		},
		Now: testNow,
	})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err, built
}

func TestRootNameFollowsBinary(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{NameHNS, "kubectl hns tree [NAMESPACE...] | -A"},
		{NameCanopy, "kubectl canopy tree [NAMESPACE...] | -A"},
	} {
		out, _, err, built := run(t, tt.name, nil, "tree", "--help")
		if err != nil {
			t.Fatalf("%s tree --help: %v", tt.name, err)
		}
		if !strings.Contains(out, tt.want) {
			t.Errorf("%s tree --help does not contain %q:\n%s", tt.name, tt.want, out)
		}
		if built {
			t.Errorf("%s --help built a client", tt.name)
		}
	}
	out, _, _, _ := run(t, NameCanopy, nil, "config", "set-resource", "--help")
	if !strings.Contains(out, "kubectl canopy config set-resource secrets --mode Ignore") || strings.Contains(out, "kubectl hns") {
		t.Errorf("examples are not renamed for kubectl canopy:\n%s", out)
	}
}

// TestFlagErrors checks that bad command lines fail before any API call,
// with an error naming the flag or argument at fault.
func TestFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"create", "dev"}, "parent must be set via --namespace or -n"},
		{[]string{"delete", "dev"}, "parent must be set via --namespace or -n"},
		{[]string{"set", "b", "--root", "--parent", "a"}, "--parent and --root are mutually exclusive"},
		{[]string{"set", "b", "-a", "-f"}, "cannot set both --allow-cascading-deletion and --forbid-cascading-deletion"},
		{[]string{"set", "b"}, "nothing to set: specify --parent, --root"},
		{[]string{"config", "set-resource", "secrets", "--mode", "copy"}, `invalid --mode "copy"`},
		{[]string{"config", "set-resource", "secrets"}, "--mode is required"},
		{[]string{"hrq", "-A", "-o", "xml"}, `unsupported --output "xml": must be yaml or json`},
		{[]string{"tenant", "list", "-o", "wide"}, `unsupported --output "wide"`},
		{[]string{"tenant", "describe"}, "accepts 1 arg(s), received 0"},
		{[]string{"config", "describe", "extra"}, `no arguments expected, got ["extra"]`},
		{[]string{"tree", "--bogus"}, "unknown flag: --bogus"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err, built := run(t, NameCanopy, nil, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
			if built {
				t.Errorf("a client was built for an invalid command line")
			}
		})
	}
}

func TestCommandsReachTheAPI(t *testing.T) {
	c, calls := newFakeClient(t, nil, richObjects()...)
	out, _, err, _ := run(t, NameHNS, c, "tree", "-A")
	if err != nil {
		t.Fatalf("tree -A: %v", err)
	}
	if !strings.HasPrefix(out, "acme\n├── [s] dev\n") {
		t.Errorf("tree -A output starts %q", out)
	}
	if got := calls.total("List"); got != 2 {
		t.Errorf("tree -A through cobra made %d List calls, want 2", got)
	}

	// HNC's camelCase flag is accepted as an alias.
	if _, _, err, _ := run(t, NameHNS, c, "set", "prod", "--allowCascadingDeletion"); err != nil {
		t.Fatalf("set --allowCascadingDeletion: %v", err)
	}
	h := &hncv1.HierarchyConfiguration{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "prod", Name: hncv1.Singleton}, h); err != nil {
		t.Fatalf("reading prod's hierarchy: %v", err)
	}
	if !h.Spec.AllowCascadingDeletion {
		t.Errorf("--allowCascadingDeletion did not set allowCascadingDeletion")
	}

	out, _, err, _ = run(t, NameHNS, c, "create", "team", "-n", "standalone")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if want := "Successfully created \"team\" subnamespace anchor in \"standalone\" namespace\n"; out != want {
		t.Errorf("create output = %q, want %q", out, want)
	}

	out, _, err, _ = run(t, NameCanopy, c, "hrq", "-n", "standalone")
	if err != nil {
		t.Fatalf("hrq -n: %v", err)
	}
	want := "NAME    KIND                AGE   REQUEST   LIMIT\nfresh   HierarchicalQuota   30s   <none>    limits.memory: 0/1Gi\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("hrq -n standalone (-want +got):\n%s", diff)
	}
}
