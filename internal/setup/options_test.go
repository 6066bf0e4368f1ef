package setup

import (
	"flag"
	"io"
	"testing"
)

func TestClientRateFlag(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		qps       float32
		burst     int
		wantError bool
	}{
		{name: "default: no client-side limit", qps: -1},
		{name: "0: no client-side limit", args: []string{"--apiserver-qps-throttle=0"}, qps: -1},
		{name: "HNC's 50", args: []string{"--apiserver-qps-throttle=50"}, qps: 50, burst: 100},
		{name: "negative", args: []string{"--apiserver-qps-throttle=-5"}, wantError: true},
		{name: "not a number", args: []string{"--apiserver-qps-throttle=fast"}, wantError: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			fs := flag.NewFlagSet("canopy-manager", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.BindFlags(fs)
			err := fs.Parse(tc.args)
			if tc.wantError {
				if err == nil {
					t.Fatalf("parsing %v: no error, QPS %v", tc.args, o.QPS)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.QPS != tc.qps || o.Burst != tc.burst {
				t.Errorf("QPS %v, burst %d; want %v, %d", o.QPS, o.Burst, tc.qps, tc.burst)
			}
		})
	}
}

func TestPprofOffByDefault(t *testing.T) {
	o := DefaultOptions()
	fs := flag.NewFlagSet("canopy-manager", flag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if o.PprofAddr != "" {
		t.Errorf("pprof serves on %q by default", o.PprofAddr)
	}
	if err := fs.Parse([]string{"--pprof-bind-address=127.0.0.1:6060"}); err != nil {
		t.Fatal(err)
	}
	if o.PprofAddr != "127.0.0.1:6060" {
		t.Errorf("--pprof-bind-address gave %q", o.PprofAddr)
	}
}
