package setup

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
)

// DefaultMemoryLimitRatio is the share of the container's memory limit
// the Go runtime is held under by default. The rest is headroom for
// what the runtime does not count: the binary's own pages, which are
// about 54 MB of the manager's resident memory (docs/scale.md).
const DefaultMemoryLimitRatio = 0.8

// memoryLimitRefresh is how often the container's limit is read again,
// so that a pod resized in place gets a matching heap limit.
const memoryLimitRefresh = time.Minute

// MemoryLimitOptions hold the Go runtime's memory under a share of the
// memory limit of the manager's cgroup (its container's limit).
type MemoryLimitOptions struct {
	// Ratio is that share, in (0, 1]; 0 leaves the runtime's limit alone.
	Ratio float64
}

func (o *MemoryLimitOptions) bindFlags(fs *flag.FlagSet) {
	fs.Float64Var(&o.Ratio, "memory-limit-ratio", o.Ratio, "Share of the container's memory limit (its cgroup's) that the manager's Go heap is held under, so that the garbage collector works harder before the kernel kills the process; 0 turns it off, and GOMEMLIMIT, when set, wins. Without a cgroup limit nothing changes.")
}

func (o MemoryLimitOptions) validate() error {
	if math.IsNaN(o.Ratio) || o.Ratio < 0 || o.Ratio > 1 {
		return fmt.Errorf("--memory-limit-ratio: %v is not between 0 and 1", o.Ratio)
	}
	return nil
}

// LimitMemory sets the Go runtime's soft memory limit to Ratio times the
// memory limit of the process's cgroup, and reads that limit again every
// minute until ctx ends. It returns the limit in force, math.MaxInt64
// when there is none. A process has one runtime, so main calls it once;
// NewManager does not.
func (o MemoryLimitOptions) LimitMemory(ctx context.Context, log logr.Logger) (int64, error) {
	return o.limitMemory(ctx, memlimit.FromCgroup, log)
}

// limitMemory is LimitMemory with the container's limit read by limit.
func (o MemoryLimitOptions) limitMemory(ctx context.Context, limit memlimit.Provider, log logr.Logger) (int64, error) {
	if err := o.validate(); err != nil {
		return 0, err
	}
	if o.Ratio == 0 {
		return debug.SetMemoryLimit(-1), nil
	}
	set, err := memlimit.Set(
		memlimit.WithRatio(o.Ratio),
		memlimit.WithProvider(limit),
		memlimit.WithLogger(slog.New(logr.ToSlogHandler(log))),
		memlimit.WithRefreshInterval(ctx, memoryLimitRefresh),
	)
	if err != nil {
		return 0, fmt.Errorf("setting the Go memory limit from the container's: %w", err)
	}
	return set, nil
}
