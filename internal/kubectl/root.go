package kubectl

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Binary names. Installed as kubectl-hns, the plugin answers `kubectl hns`.
const (
	NameCanopy = "kubectl-canopy"
	NameHNS    = "kubectl-hns"
)

// CommandName maps argv[0] to the name the root command should use:
// kubectl-hns when invoked under that name (with or without a directory or
// .exe), kubectl-canopy otherwise.
func CommandName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if base == NameHNS {
		return NameHNS
	}
	return NameCanopy
}

// ClientFactory builds the API client from the standard kubeconfig flags.
type ClientFactory func(genericclioptions.RESTClientGetter) (client.Client, error)

// RootOptions configure NewRootCommand.
type RootOptions struct {
	// Name is NameCanopy or NameHNS; empty means NameCanopy.
	Name string
	genericiooptions.IOStreams
	// NewClient builds the client; nil means NewClient.
	NewClient ClientFactory
	// Now is the time ages are measured from; zero means the clock.
	Now time.Time
}

// NewClient builds a controller-runtime client from the kubeconfig flags,
// with the scheme from NewScheme.
func NewClient(g genericclioptions.RESTClientGetter) (client.Client, error) {
	cfg, err := g.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	s, err := NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("creating the API client: %w", err)
	}
	return c, nil
}

// root is the state the subcommands share: the kubeconfig flags and the
// client, built on first use so --help and flag errors need no cluster.
type root struct {
	opts   RootOptions
	flags  *genericclioptions.ConfigFlags
	client client.Client
}

func (r *root) getClient() (client.Client, error) {
	if r.client == nil {
		c, err := r.opts.NewClient(r.flags)
		if err != nil {
			return nil, err
		}
		r.client = c
	}
	return r.client, nil
}

// explicitNamespace is -n as given, or "".
func (r *root) explicitNamespace() string {
	return *r.flags.Namespace
}

// namespace is -n, or else the kubeconfig context's namespace, as kubectl
// resolves it.
func (r *root) namespace() (string, error) {
	if ns := r.explicitNamespace(); ns != "" {
		return ns, nil
	}
	ns, _, err := r.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the namespace from kubeconfig: %w", err)
	}
	return ns, nil
}

// NewRootCommand builds the plugin's command tree.
func NewRootCommand(o RootOptions) *cobra.Command {
	if o.Name == "" {
		o.Name = NameCanopy
	}
	if o.NewClient == nil {
		o.NewClient = NewClient
	}
	r := &root{opts: o, flags: genericclioptions.NewConfigFlags(true)}
	display := strings.Replace(o.Name, "-", " ", 1)
	cmd := &cobra.Command{
		Use:          o.Name,
		Short:        "Manipulates hierarchical namespaces, quotas and tenants provided by Canopy",
		Long:         display + " manages Canopy's namespace trees (HNC's hnc.x-k8s.io API), hierarchical quotas and tenants.",
		SilenceUsage: true,
		Annotations:  map[string]string{cobra.CommandDisplayNameAnnotation: display},
	}
	cmd.SetIn(o.In)
	cmd.SetOut(o.Out)
	cmd.SetErr(o.ErrOut)
	r.flags.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		r.treeCmd(), r.createCmd(), r.deleteCmd(), r.setCmd(), r.describeCmd(),
		r.configCmd(), r.hrqCmd(), r.tenantCmd(), r.costCmd(),
	)
	renameExamples(cmd, display)
	return cmd
}

// renameExamples makes the examples, written for `kubectl hns`, name the
// command the way it was invoked.
func renameExamples(cmd *cobra.Command, display string) {
	cmd.Example = strings.ReplaceAll(cmd.Example, "kubectl hns ", display+" ")
	for _, sub := range cmd.Commands() {
		renameExamples(sub, display)
	}
}

// addOutputFlag adds -o and returns a function parsing it.
func addOutputFlag(cmd *cobra.Command) func() (Output, error) {
	s := cmd.Flags().StringP("output", "o", "", "Output format: yaml or json")
	return func() (Output, error) { return ParseOutput(*s) }
}

// hncFlagNames accepts HNC's camelCase flag names as aliases.
func hncFlagNames(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	switch name {
	case "allowCascadingDeletion":
		name = "allow-cascading-deletion"
	case "forbidCascadingDeletion":
		name = "forbid-cascading-deletion"
	}
	return pflag.NormalizedName(name)
}

var errNoArgs = errors.New("no arguments expected")

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w, got %q", errNoArgs, args)
	}
	return nil
}
