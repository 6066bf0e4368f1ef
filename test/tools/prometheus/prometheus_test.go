package prometheus

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBackfillThenQuery backfills a counter 26 hours into the past and
// checks that the started Prometheus still holds (retention) and answers
// the oldest and newest samples.
func TestBackfillThenQuery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	end := time.Now().Truncate(time.Minute)
	start := end.Add(-26 * time.Hour)
	var om strings.Builder
	om.WriteString("# TYPE canopy_test_total counter\n")
	for ts, v := start, 0; !ts.After(end); ts, v = ts.Add(time.Minute), v+60 {
		fmt.Fprintf(&om, "canopy_test_total{node=\"n1\"} %d %d\n", v, ts.Unix())
	}
	om.WriteString("# EOF\n")
	if err := Backfill(ctx, dir, []byte(om.String())); err != nil {
		t.Fatal(err)
	}
	srv, stop, err := Start(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q, want loopback", srv.URL)
	}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{start, `"0"`},
		{end, fmt.Sprintf(`"%d"`, 26*60*60)},
		{start.Add(13 * time.Hour), fmt.Sprintf(`"%d"`, 13*60*60)},
	} {
		body, err := srv.Query(ctx, `canopy_test_total{node="n1"}`, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), c.want) {
			t.Errorf("at %s: got %s, want value %s", c.at, body, c.want)
		}
	}
	stop()
	select {
	case <-srv.Done():
	default:
		t.Error("stop returned before Prometheus exited")
	}
}

func TestGenerateConfig(t *testing.T) {
	got := GenerateConfig([]string{"127.0.0.1:9003", "127.0.0.1:8080"}, []string{"opencost"}, 0, true)
	want := `global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: "opencost"
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:9003"]
  - job_name: "target-1"
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:8080"]
`
	if got != want {
		t.Errorf("GenerateConfig:\n%s\nwant:\n%s", got, want)
	}
}
