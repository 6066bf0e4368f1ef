package setup

import (
	"context"
	"flag"
	"io"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
)

// TestLimitMemory sets the process's own runtime limit, so it restores it
// and runs its cases one after another.
func TestLimitMemory(t *testing.T) {
	const mib = 1 << 20
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	noLimit := func() (uint64, error) { return 0, memlimit.ErrNoLimit }
	unreadable := func() (uint64, error) { return 0, memlimit.ErrCgroupsNotSupported }

	for _, tc := range []struct {
		name     string
		args     []string
		env      string // GOMEMLIMIT
		limit    memlimit.Provider
		want     int64
		wantErr  string
		setFirst int64 // the runtime's limit before the call
	}{
		{name: "default: 80% of a 640 MiB container", limit: memlimit.Limit(640 * mib), want: 512 * mib},
		{name: "a ratio of its own", args: []string{"--memory-limit-ratio=0.5"}, limit: memlimit.Limit(256 * mib), want: 128 * mib},
		{name: "no container limit: none", limit: noLimit, setFirst: 300 * mib, want: math.MaxInt64},
		{name: "0 leaves the runtime alone", args: []string{"--memory-limit-ratio=0"}, limit: memlimit.Limit(640 * mib), setFirst: 300 * mib, want: 300 * mib},
		{name: "GOMEMLIMIT wins", env: "300MiB", limit: memlimit.Limit(640 * mib), setFirst: 300 * mib, want: 300 * mib},
		{name: "an unreadable cgroup is an error, and changes nothing", limit: unreadable, setFirst: 300 * mib, want: 300 * mib, wantErr: "cgroups is not supported"},
		{name: "negative", args: []string{"--memory-limit-ratio=-0.1"}, limit: memlimit.Limit(640 * mib), setFirst: 300 * mib, want: 300 * mib, wantErr: "--memory-limit-ratio: -0.1 is not between 0 and 1"},
		{name: "above 1", args: []string{"--memory-limit-ratio=1.5"}, limit: memlimit.Limit(640 * mib), setFirst: 300 * mib, want: 300 * mib, wantErr: "--memory-limit-ratio: 1.5 is not between 0 and 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.env)
			t.Setenv("AUTOMEMLIMIT", "") // restored after the case
			_ = os.Unsetenv("AUTOMEMLIMIT")
			if tc.setFirst != 0 {
				debug.SetMemoryLimit(tc.setFirst)
			}
			o := DefaultOptions()
			fs := flag.NewFlagSet("canopy-manager", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.BindFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && strings.HasPrefix(tc.wantErr, "--") {
				if err := o.Validate(); err == nil || err.Error() != tc.wantErr {
					t.Errorf("Validate: %v; want %q", err, tc.wantErr)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got, err := o.Memory.limitMemory(ctx, tc.limit, logr.Discard())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v; want one with %q", err, tc.wantErr)
			}
			if inForce := debug.SetMemoryLimit(-1); inForce != tc.want {
				t.Errorf("runtime memory limit %d; want %d", inForce, tc.want)
			}
			if err == nil && got != tc.want {
				t.Errorf("returned %d; want %d", got, tc.want)
			}
		})
	}
}
