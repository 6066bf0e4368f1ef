package kubectl

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func TestApplySet(t *testing.T) {
	tests := []struct {
		name        string
		spec        hncv1.HierarchyConfigurationSpec
		opts        SetOptions
		wantSpec    hncv1.HierarchyConfigurationSpec
		wantMsgs    []string
		wantChanges int
	}{
		{
			name:        "set parent",
			opts:        SetOptions{Namespace: "b", Parent: "a"},
			wantSpec:    hncv1.HierarchyConfigurationSpec{Parent: "a"},
			wantMsgs:    []string{"Setting the parent of b to a"},
			wantChanges: 1,
		},
		{
			name:        "change parent",
			spec:        hncv1.HierarchyConfigurationSpec{Parent: "x"},
			opts:        SetOptions{Namespace: "b", Parent: "a"},
			wantSpec:    hncv1.HierarchyConfigurationSpec{Parent: "a"},
			wantMsgs:    []string{"Changing the parent of b from x to a"},
			wantChanges: 1,
		},
		{
			name:     "same parent",
			spec:     hncv1.HierarchyConfigurationSpec{Parent: "a"},
			opts:     SetOptions{Namespace: "b", Parent: "a"},
			wantSpec: hncv1.HierarchyConfigurationSpec{Parent: "a"},
			wantMsgs: []string{"Parent of b is already a; unchanged"},
		},
		{
			name:        "make root",
			spec:        hncv1.HierarchyConfigurationSpec{Parent: "a"},
			opts:        SetOptions{Namespace: "b", Root: true},
			wantMsgs:    []string{"Unsetting the parent of b (was previously a)"},
			wantChanges: 1,
		},
		{
			name:     "already root",
			opts:     SetOptions{Namespace: "b", Root: true},
			wantMsgs: []string{"b is already a root namespace; unchanged"},
		},
		{
			name:        "allow cascading deletion and set parent",
			opts:        SetOptions{Namespace: "b", Parent: "a", AllowCascadingDeletion: true},
			wantSpec:    hncv1.HierarchyConfigurationSpec{Parent: "a", AllowCascadingDeletion: true},
			wantMsgs:    []string{"Setting the parent of b to a", "Allowing cascading deletion on 'b'"},
			wantChanges: 2,
		},
		{
			name:        "forbid cascading deletion",
			spec:        hncv1.HierarchyConfigurationSpec{AllowCascadingDeletion: true},
			opts:        SetOptions{Namespace: "b", ForbidCascadingDeletion: true},
			wantMsgs:    []string{"Forbidding cascading deletion on 'b'"},
			wantChanges: 1,
		},
		{
			name:     "cascading deletion unchanged",
			opts:     SetOptions{Namespace: "b", ForbidCascadingDeletion: true},
			wantMsgs: []string{"Cascading deletion for 'b' is already set to false; unchanged"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			msgs, changes := applySet(&spec, tt.opts)
			if diff := cmp.Diff(tt.wantSpec, spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMsgs, msgs); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if changes != tt.wantChanges {
				t.Errorf("changes = %d, want %d", changes, tt.wantChanges)
			}
		})
	}
}

func TestSetOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts SetOptions
		want string
	}{
		{"root and parent", SetOptions{Namespace: "b", Root: true, Parent: "a"},
			"cannot give the namespace a parent and make it a root at the same time: --parent and --root are mutually exclusive"},
		{"allow and forbid", SetOptions{Namespace: "b", AllowCascadingDeletion: true, ForbidCascadingDeletion: true},
			"cannot set both --allow-cascading-deletion and --forbid-cascading-deletion"},
		{"own parent", SetOptions{Namespace: "b", Parent: "b"}, `--parent "b": a namespace cannot be its own parent`},
		{"nothing", SetOptions{Namespace: "b"},
			"nothing to set: specify --parent, --root, --allow-cascading-deletion or --forbid-cascading-deletion"},
		{"valid", SetOptions{Namespace: "b", Root: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("validate() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSetHierarchyCreatesThenUpdates(t *testing.T) {
	c, _ := newFakeClient(t, nil, ns("", "a"), ns("", "b"))
	ctx := context.Background()
	var out bytes.Buffer
	if err := SetHierarchy(ctx, c, &out, SetOptions{Namespace: "b", Parent: "a"}); err != nil {
		t.Fatalf("SetHierarchy (create): %v", err)
	}
	want := "Setting the parent of b to a\nSuccessfully updated 1 property of the hierarchical configuration of b\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	got := &hncv1.HierarchyConfiguration{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: "b", Name: hncv1.Singleton}, got); err != nil {
		t.Fatalf("reading the created hierarchy: %v", err)
	}
	if got.Spec.Parent != "a" {
		t.Errorf("created parent = %q, want a", got.Spec.Parent)
	}

	out.Reset()
	if err := SetHierarchy(ctx, c, &out, SetOptions{Namespace: "b", Root: true, AllowCascadingDeletion: true}); err != nil {
		t.Fatalf("SetHierarchy (update): %v", err)
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: "b", Name: hncv1.Singleton}, got); err != nil {
		t.Fatalf("reading the updated hierarchy: %v", err)
	}
	wantSpec := hncv1.HierarchyConfigurationSpec{AllowCascadingDeletion: true}
	if diff := cmp.Diff(wantSpec, got.Spec); diff != "" {
		t.Errorf("updated spec (-want +got):\n%s", diff)
	}
	if !bytes.Contains(out.Bytes(), []byte("Successfully updated 2 properties")) {
		t.Errorf("output %q does not report 2 properties", out.String())
	}

	out.Reset()
	if err := SetHierarchy(ctx, c, &out, SetOptions{Namespace: "b", Root: true}); err != nil {
		t.Fatalf("SetHierarchy (no-op): %v", err)
	}
	if want := "b is already a root namespace; unchanged\nNo changes made\n"; out.String() != want {
		t.Errorf("no-op output = %q, want %q", out.String(), want)
	}
}

func TestSetHierarchyMissingNamespace(t *testing.T) {
	c, _ := newFakeClient(t, nil)
	err := SetHierarchy(context.Background(), c, &bytes.Buffer{}, SetOptions{Namespace: "ghost", Root: true})
	if want := `reading namespace ghost: namespaces "ghost" not found`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
