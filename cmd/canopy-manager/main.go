// Command canopy-manager runs Canopy's controllers and webhooks.
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/canopyhq/canopy/internal/setup"
)

func main() {
	opts := setup.DefaultOptions()
	opts.BindFlags(flag.CommandLine)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")
	ctx := ctrl.SetupSignalHandler()

	if err := opts.Validate(); err != nil {
		log.Error(err, "Invalid flags")
		os.Exit(1)
	}
	// Not fatal: without the container's limit the heap is only unbounded.
	if _, err := opts.Memory.LimitMemory(ctx, ctrl.Log.WithName("memlimit")); err != nil {
		log.Error(err, "Running without a heap limit")
	}
	mgr, err := setup.NewManager(ctrl.GetConfigOrDie(), opts)
	if err != nil {
		log.Error(err, "Unable to set up the manager")
		os.Exit(1)
	}
	log.Info("Starting the manager")
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "Manager stopped with an error")
		os.Exit(1)
	}
}
