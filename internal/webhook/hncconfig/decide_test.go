package hncconfig

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	policy "github.com/canopyhq/canopy/internal/propagation"
)

type fakeCurrent map[schema.GroupResource]api.SynchronizationMode

var secretsGVK = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}

func (f fakeCurrent) KindFor(gr schema.GroupResource) (schema.GroupVersionKind, bool) {
	_, ok := f[gr]
	return secretsGVK, ok && gr.Resource == "secrets"
}

func (f fakeCurrent) ModeForKind(gk schema.GroupKind) (api.SynchronizationMode, bool) {
	m, ok := f[schema.GroupResource{Resource: "secrets"}]
	return m, ok && gk == secretsGVK.GroupKind()
}

func TestDecide(t *testing.T) {
	conflict := func(schema.GroupVersionKind, api.SynchronizationMode) []*policy.ConflictError {
		return []*policy.ConflictError{{Name: "s", Namespace: "child", SourceNamespace: "parent"}}
	}
	noConflict := func(schema.GroupVersionKind, api.SynchronizationMode) []*policy.ConflictError { return nil }
	cfg := func(name string, rs ...api.ResourceSpec) *api.HNCConfiguration {
		return &api.HNCConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: api.HNCConfigurationSpec{Resources: rs}}
	}
	secrets := func(m api.SynchronizationMode) api.ResourceSpec {
		return api.ResourceSpec{Resource: "secrets", Mode: m}
	}

	tests := []struct {
		name      string
		cfg       *api.HNCConfiguration
		current   fakeCurrent
		conflicts ConflictFinder
		want      string
	}{
		{name: "valid", cfg: cfg("config", secrets(api.Propagate)), conflicts: noConflict},
		{name: "wrong name", cfg: cfg("other"), conflicts: noConflict, want: `must be named "config"`},
		{name: "roles listed", cfg: cfg("config", api.ResourceSpec{Group: api.RBACGroup, Resource: "roles"}), conflicts: noConflict, want: "must not be listed"},
		{name: "switch to propagate with conflicts", cfg: cfg("config", secrets(api.Propagate)), current: fakeCurrent{{Resource: "secrets"}: api.Remove}, conflicts: conflict, want: `"s" in "child" would be overwritten by the source in "parent"`},
		{name: "switch to allow-propagate with conflicts", cfg: cfg("config", secrets(api.AllowPropagate)), current: fakeCurrent{{Resource: "secrets"}: api.Propagate}, conflicts: conflict, want: "would be overwritten"},
		{name: "unchanged mode is not re-checked", cfg: cfg("config", secrets(api.Propagate)), current: fakeCurrent{{Resource: "secrets"}: api.Propagate}, conflicts: conflict},
		{name: "switch to remove ignores conflicts", cfg: cfg("config", secrets(api.Remove)), current: fakeCurrent{{Resource: "secrets"}: api.Propagate}, conflicts: conflict},
		{name: "unwatched type has no known sources", cfg: cfg("config", secrets(api.Propagate)), conflicts: conflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.cfg, policy.ModeOptions{}, tc.current, tc.conflicts)
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Errorf("Decide = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
