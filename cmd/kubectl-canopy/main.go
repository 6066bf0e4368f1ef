// Command kubectl-canopy is Canopy's kubectl plugin. Installed as
// kubectl-canopy it answers `kubectl canopy ...`; installed (or linked) as
// kubectl-hns it answers `kubectl hns ...` with HNC's verbs. All logic lives
// in internal/kubectl.
package main

import (
	"context"
	"os"
	"os/signal"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // kubeconfig auth providers

	"github.com/canopyhq/canopy/internal/kubectl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cmd := kubectl.NewRootCommand(kubectl.RootOptions{
		Name:      kubectl.CommandName(os.Args[0]),
		IOStreams: genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr},
	})
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil {
		os.Exit(1)
	}
}
