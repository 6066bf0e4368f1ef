package quota

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// The manager, as installed, may not list secrets. A namespace in no quota
// tree, so that no singleton counts its secrets, joins a tree whose quota
// limits them: the move is refused, saying what to do, rather than judged
// as if the namespace held none. Once a ResourceQuota there tracks them,
// the move is judged on its count: refused while it does not fit, allowed
// once it does, and the tree ends exactly full.
func TestMoveCountsWhatTheManagerMayNotList(t *testing.T) {
	c := admin(t)
	ctx := context.Background()
	cfg, err := env.InstalledManagerConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env.StopManager()
	env.ManagerConfig = cfg
	t.Cleanup(func() {
		env.StopManager()
		env.ManagerConfig = nil
		if err := env.StartManager(env.Options); err != nil {
			t.Errorf("restarting the manager with the admin's credentials: %v", err)
		}
	})
	if err := env.StartManager(env.Options); err != nil {
		t.Fatalf("starting the manager with the installation's permissions: %v", err)
	}
	var secrets corev1.SecretList
	mgr, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.List(ctx, &secrets, client.InNamespace("default")); err == nil {
		t.Fatal("the installed manager may list secrets; this test needs it not to")
	}

	tree(t, "sec-x", "sec-b", "sec-b1=sec-b")
	hrq(t, "sec-b", "qb", "secrets=3", "sec-b", "sec-b1")
	mustCreateSecrets(t, "sec-x", "s1", "s2", "s3")
	mustCreateSecrets(t, "sec-b1", "s1")
	waitHRQUsed(t, "sec-b", "qb", corev1.ResourceSecrets, 1)

	err = setParent(c, "sec-x", "sec-b1")
	if err == nil || !strings.Contains(err.Error(), `cannot count "secrets" in namespace "sec-x"`) {
		t.Fatalf("joining with secrets the manager cannot count: %v, want a refusal saying so", err)
	}
	t.Logf("refused: %v", err)
	waitHRQUsed(t, "sec-b", "qb", corev1.ResourceSecrets, 1)

	// A platform admin has them tracked there.
	track := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "sec-x", Name: "track-secrets"},
		Spec: corev1.ResourceQuotaSpec{Hard: rl(t, "secrets=100")}}
	if err := c.Create(ctx, track); err != nil {
		t.Fatal(err)
	}
	waitTracked := func(want int64) {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(track), track); err != nil {
				return err
			}
			if got, ok := track.Status.Used[corev1.ResourceSecrets]; !ok || got.Value() != want {
				return fmt.Errorf("track-secrets used %v, want secrets=%d", track.Status.Used, want)
			}
			return nil
		})
	}
	waitTracked(3)
	err = setParent(c, "sec-x", "sec-b1")
	if err == nil || !strings.Contains(err.Error(), `HierarchicalResourceQuota "qb"`) || !strings.Contains(err.Error(), "used secrets=4") {
		t.Fatalf("joining with 3 secrets a tree with room for 2: %v, want a denial naming qb and 4 secrets", err)
	}
	if err := c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "sec-x", Name: "s3"}}); err != nil {
		t.Fatal(err)
	}
	waitTracked(2)
	framework.Eventually(t, wait, func(context.Context) error { return setParent(c, "sec-x", "sec-b1") })
	waitHRQUsed(t, "sec-b", "qb", corev1.ResourceSecrets, 3)
}

func mustCreateSecrets(t testing.TB, ns string, names ...string) {
	t.Helper()
	for _, n := range names {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n}, StringData: map[string]string{"k": "v"}}
		if err := admin(t).Create(context.Background(), s); err != nil {
			t.Fatalf("creating secret %s/%s: %v", ns, n, err)
		}
	}
}
