package degraded

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// TestDegradedMode builds the trees, stops the manager, runs every row of
// the README's list against the API server, restarts the manager and
// checks that the trees converge with nothing lost.
func TestDegradedMode(t *testing.T) {
	c := env.Admin(t)
	buildTrees(t, c)

	env.StopManager()
	running := false
	t.Cleanup(func() {
		if !running {
			if err := env.StartManager(env.Options); err != nil {
				t.Errorf("restarting the manager: %v", err)
			}
		}
	})
	webhookRefused(t)

	outage := time.Now()
	var denied, allowed int
	check := func(t *testing.T, r row, err error) {
		t.Helper()
		if len(r.webhooks) == 0 {
			allowed++
			if err != nil {
				t.Fatalf("README allows %q while no replica runs, but it failed: %v", r.what, err)
			}
			return
		}
		denied++
		if err == nil {
			t.Fatalf("README denies %q while no replica runs, but it was allowed", r.what)
		}
		if msg := err.Error(); !strings.Contains(msg, "failed calling webhook") || !namesOne(msg, r.webhooks) {
			t.Fatalf("%q was refused, but not by a failed call to %v: %v", r.what, r.webhooks, err)
		}
	}
	run := func(r row, log logf) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
		defer cancel()
		return r.do(ctx, log, c)
	}
	type result struct {
		r    row
		err  error
		logs []string
	}
	var background []chan result
	for _, r := range rows() {
		if !r.background() {
			continue
		}
		ch := make(chan result, 1)
		background = append(background, ch)
		go func() {
			res := result{r: r}
			res.err = run(r, func(format string, args ...any) { res.logs = append(res.logs, fmt.Sprintf(format, args...)) })
			ch <- res
		}()
	}
	for _, r := range rows() {
		if r.background() {
			continue
		}
		t.Run(r.bullet+"/"+r.what, func(t *testing.T) { check(t, r, run(r, t.Logf)) })
	}
	for _, ch := range background {
		res := <-ch
		t.Run(res.r.bullet+"/"+res.r.what, func(t *testing.T) {
			for _, l := range res.logs {
				t.Log(l)
			}
			check(t, res.r, res.err)
		})
	}
	t.Logf("outage: %d requests denied and %d allowed as the README lists, in %v", denied, allowed, time.Since(outage).Round(time.Millisecond))

	start := time.Now()
	if err := env.StartManager(env.Options); err != nil {
		t.Fatalf("restarting the manager: %v", err)
	}
	running = true
	ready := time.Since(start)
	waitTreeIntact(t, c)
	// What changed during the outage catches up: the deleted pod's usage is
	// freed in the HRQ's status.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		h := &api.HierarchicalResourceQuota{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: root, Name: hrqName}, h); err != nil {
			return err
		}
		if used := h.Status.Used[corev1.ResourcePods]; used.Cmp(resource.MustParse("0")) != 0 {
			return fmt.Errorf("HRQ %s/%s status.used.pods is %s, want 0 after its only pod was deleted", root, hrqName, used.String())
		}
		return nil
	})
	converged := time.Since(start)
	// A deletion that waited for a replica finishes, after the namespace
	// controller's backoff (at most a minute).
	waitGone(t, c, ns(conflicted), 90*time.Second)
	t.Logf("restart: manager ready in %v, trees converged %v later; the held namespace deletion finished %v after the restart",
		ready.Round(time.Millisecond), (converged - ready).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// namesOne reports whether msg names one of the webhooks.
func namesOne(msg string, webhooks []string) bool {
	for _, w := range webhooks {
		if strings.Contains(msg, `"`+w+`"`) {
			return true
		}
	}
	return false
}
