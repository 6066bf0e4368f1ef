package propagation

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

var (
	secrets     = schema.GroupResource{Resource: "secrets"}
	configmaps  = schema.GroupResource{Resource: "configmaps"}
	roles       = schema.GroupResource{Group: api.RBACGroup, Resource: api.RoleResource}
	roleBinding = schema.GroupResource{Group: api.RBACGroup, Resource: api.RoleBindingResource}
	netpols     = schema.GroupResource{Group: "networking.k8s.io", Resource: "networkpolicies"}
)

func TestParseModes(t *testing.T) {
	tests := []struct {
		name    string
		res     []api.ResourceSpec
		opts    ModeOptions
		want    map[schema.GroupResource]api.SynchronizationMode
		wantErr []string
	}{
		{
			name: "enforced types only",
			want: map[schema.GroupResource]api.SynchronizationMode{roles: api.Propagate, roleBinding: api.Propagate},
		},
		{
			name: "every mode, empty and unknown",
			res: []api.ResourceSpec{
				{Resource: "secrets", Mode: api.Remove},
				{Resource: "configmaps"},
				{Group: "networking.k8s.io", Resource: "networkpolicies", Mode: api.AllowPropagate},
				{Group: "example.com", Resource: "widgets", Mode: "Sometimes"},
				{Group: "example.com", Resource: "gadgets", Mode: api.Ignore},
			},
			want: map[schema.GroupResource]api.SynchronizationMode{
				roles: api.Propagate, roleBinding: api.Propagate,
				secrets: api.Remove, configmaps: api.Propagate, netpols: api.AllowPropagate,
				{Group: "example.com", Resource: "widgets"}: api.Ignore,
				{Group: "example.com", Resource: "gadgets"}: api.Ignore,
			},
		},
		{
			name: "opt-in safety makes an empty mode AllowPropagate",
			res:  []api.ResourceSpec{{Resource: "configmaps"}, {Resource: "secrets", Mode: api.Propagate}},
			opts: ModeOptions{OptInByDefault: true},
			want: map[schema.GroupResource]api.SynchronizationMode{
				roles: api.Propagate, roleBinding: api.Propagate, configmaps: api.AllowPropagate, secrets: api.Propagate,
			},
		},
		{
			name: "listing an enforced type is an error and cannot change it",
			res: []api.ResourceSpec{
				{Group: api.RBACGroup, Resource: api.RoleResource, Mode: api.Remove},
				{Group: api.RBACGroup, Resource: api.RoleBindingResource, Mode: api.Propagate},
			},
			want:    map[schema.GroupResource]api.SynchronizationMode{roles: api.Propagate, roleBinding: api.Propagate},
			wantErr: []string{`spec.resources[0]: "roles.rbac.authorization.k8s.io" is always propagated`, `spec.resources[1]: "rolebindings.rbac.authorization.k8s.io"`},
		},
		{
			name: "duplicates: first wins; empty resource",
			res: []api.ResourceSpec{
				{Resource: "secrets", Mode: api.Propagate},
				{Resource: "secrets", Mode: api.Remove},
				{Group: "x"},
			},
			want:    map[schema.GroupResource]api.SynchronizationMode{roles: api.Propagate, roleBinding: api.Propagate, secrets: api.Propagate},
			wantErr: []string{`spec.resources[1]: "secrets" is configured more than once`, "spec.resources[2]: resource must not be empty"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseModes(api.HNCConfigurationSpec{Resources: tc.res}, tc.opts)
			if diff := cmp.Diff(Modes(tc.want), got); diff != "" {
				t.Errorf("ParseModes() (-want +got):\n%s", diff)
			}
			if len(tc.wantErr) == 0 && err != nil {
				t.Fatalf("ParseModes() error = %v, want none", err)
			}
			if len(tc.wantErr) > 0 && err == nil {
				t.Fatalf("ParseModes() error = nil, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestModesAccessors(t *testing.T) {
	m, err := ParseModes(api.HNCConfigurationSpec{Resources: []api.ResourceSpec{{Resource: "secrets", Mode: api.Remove}}}, ModeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Mode(secrets); got != api.Remove {
		t.Errorf("Mode(secrets) = %q, want Remove", got)
	}
	if got := m.Mode(configmaps); got != api.Ignore {
		t.Errorf("Mode(unlisted) = %q, want Ignore", got)
	}
	want := []api.ResourceSpec{
		{Resource: "secrets", Mode: api.Remove},
		{Group: api.RBACGroup, Resource: api.RoleBindingResource, Mode: api.Propagate},
		{Group: api.RBACGroup, Resource: api.RoleResource, Mode: api.Propagate},
	}
	if diff := cmp.Diff(want, m.Resources()); diff != "" {
		t.Errorf("Resources() (-want +got):\n%s", diff)
	}
	for mode, want := range map[api.SynchronizationMode]bool{api.Propagate: true, api.AllowPropagate: true, api.Remove: false, api.Ignore: false} {
		if got := Propagates(mode); got != want {
			t.Errorf("Propagates(%q) = %v, want %v", mode, got, want)
		}
	}
}
