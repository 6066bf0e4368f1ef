package kubectl

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func TestConfigDescribeGolden(t *testing.T) {
	c, _ := newFakeClient(t, nil, richObjects()...)
	var out bytes.Buffer
	if err := ConfigDescribe(context.Background(), c, &out, OutputHuman); err != nil {
		t.Fatalf("ConfigDescribe: %v", err)
	}
	want := `Synchronized resources:
* Propagating: roles (rbac.authorization.k8s.io/v1) - 3 propagated, 1 source objects
* Ignoring: secrets (/v1)

Conditions:
OutOfSync (Unknown): restart needed
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("config describe (-want +got):\n%s", diff)
	}
}

func TestConfigDescribeJSON(t *testing.T) {
	c, _ := newFakeClient(t, nil, richObjects()...)
	var out bytes.Buffer
	if err := ConfigDescribe(context.Background(), c, &out, OutputJSON); err != nil {
		t.Fatalf("ConfigDescribe: %v", err)
	}
	var got hncv1.HNCConfiguration
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not an HNCConfiguration: %v\n%s", err, out.String())
	}
	if got.Kind != "HNCConfiguration" || got.APIVersion != "hnc.x-k8s.io/v1alpha2" || len(got.Status.Resources) != 2 {
		t.Errorf("decoded %s %s with %d resources, want HNCConfiguration hnc.x-k8s.io/v1alpha2 with 2", got.APIVersion, got.Kind, len(got.Status.Resources))
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    hncv1.SynchronizationMode
		wantErr string
	}{
		{"propagate", hncv1.Propagate, ""},
		{"ALLOWPROPAGATE", hncv1.AllowPropagate, ""},
		{"Remove", hncv1.Remove, ""},
		{"", "", "--mode is required: one of Propagate, Remove, Ignore, AllowPropagate"},
		{"copy", "", `invalid --mode "copy": must be one of Propagate, Remove, Ignore, AllowPropagate`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMode(tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("ParseMode(%q) = %q, %q; want %q, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
			}
		})
	}
}

func TestConfigSetResource(t *testing.T) {
	tests := []struct {
		name      string
		existing  []hncv1.ResourceSpec
		noConfig  bool
		opts      SetResourceOptions
		wantErr   string
		wantSpecs []hncv1.ResourceSpec
	}{
		{
			name:      "creates the configuration",
			noConfig:  true,
			opts:      SetResourceOptions{Resource: "secrets", Mode: "propagate"},
			wantSpecs: []hncv1.ResourceSpec{{Resource: "secrets", Mode: hncv1.Propagate}},
		},
		{
			name:      "adds a type",
			existing:  []hncv1.ResourceSpec{{Resource: "secrets", Mode: hncv1.Remove}},
			opts:      SetResourceOptions{Group: "stable.example.com", Resource: "crontabs", Mode: "Propagate"},
			wantSpecs: []hncv1.ResourceSpec{{Resource: "secrets", Mode: hncv1.Remove}, {Group: "stable.example.com", Resource: "crontabs", Mode: hncv1.Propagate}},
		},
		{
			name:      "changes a type",
			existing:  []hncv1.ResourceSpec{{Resource: "secrets", Mode: hncv1.Remove}},
			opts:      SetResourceOptions{Resource: "secrets", Mode: "Ignore"},
			wantSpecs: []hncv1.ResourceSpec{{Resource: "secrets", Mode: hncv1.Ignore}},
		},
		{
			name:      "ignore to propagate needs force",
			existing:  []hncv1.ResourceSpec{{Resource: "secrets", Mode: hncv1.Ignore}},
			opts:      SetResourceOptions{Resource: "secrets", Mode: "Propagate"},
			wantErr:   "use --force",
			wantSpecs: []hncv1.ResourceSpec{{Resource: "secrets", Mode: hncv1.Ignore}},
		},
		{
			name:      "ignore to propagate with force",
			existing:  []hncv1.ResourceSpec{{Resource: "secrets", Mode: hncv1.Ignore}},
			opts:      SetResourceOptions{Resource: "secrets", Mode: "AllowPropagate", Force: true},
			wantSpecs: []hncv1.ResourceSpec{{Resource: "secrets", Mode: hncv1.AllowPropagate}},
		},
		{
			name:      "enforced type",
			existing:  []hncv1.ResourceSpec{},
			opts:      SetResourceOptions{Group: hncv1.RBACGroup, Resource: "roles", Mode: "Ignore"},
			wantErr:   "--mode Ignore: roles.rbac.authorization.k8s.io are always propagated",
			wantSpecs: nil,
		},
		{
			name:     "bad mode",
			existing: []hncv1.ResourceSpec{},
			opts:     SetResourceOptions{Resource: "secrets", Mode: "copy"},
			wantErr:  `invalid --mode "copy"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []client.Object
			if !tt.noConfig {
				cfg := &hncv1.HNCConfiguration{}
				cfg.Name = hncv1.HNCConfigSingleton
				cfg.Spec.Resources = tt.existing
				objs = append(objs, cfg)
			}
			c, _ := newFakeClient(t, nil, objs...)
			var out bytes.Buffer
			err := ConfigSetResource(context.Background(), c, &out, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("ConfigSetResource: %v", err)
			}
			got := &hncv1.HNCConfiguration{}
			if err := c.Get(context.Background(), types.NamespacedName{Name: hncv1.HNCConfigSingleton}, got); err != nil && !tt.noConfig {
				t.Fatalf("reading the configuration: %v", err)
			}
			if diff := cmp.Diff(tt.wantSpecs, got.Spec.Resources); diff != "" {
				t.Errorf("spec.resources (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigDeleteType(t *testing.T) {
	c, _ := newFakeClient(t, nil, richObjects()...)
	ctx := context.Background()
	var out bytes.Buffer
	if err := ConfigDeleteType(ctx, c, &out, "", "secrets"); err != nil {
		t.Fatalf("ConfigDeleteType: %v", err)
	}
	if err := ConfigDeleteType(ctx, c, &out, "", "secrets"); err != nil {
		t.Fatalf("ConfigDeleteType (again): %v", err)
	}
	want := "Configuration for type with group: , resource: secrets is deleted\n" +
		"Nothing to delete; No configuration for type with group: , resource: secrets\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	got := &hncv1.HNCConfiguration{}
	if err := c.Get(ctx, types.NamespacedName{Name: hncv1.HNCConfigSingleton}, got); err != nil {
		t.Fatalf("reading the configuration: %v", err)
	}
	if len(got.Spec.Resources) != 0 {
		t.Errorf("spec.resources = %v, want none", got.Spec.Resources)
	}
	if err := ConfigDeleteType(ctx, c, &out, "", ""); err == nil || err.Error() != "--resource is required" {
		t.Errorf("missing --resource error = %v", err)
	}
}
