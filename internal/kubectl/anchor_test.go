package kubectl

import (
	"bytes"
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func anchor(parent, child string) *hncv1.SubnamespaceAnchor {
	a := &hncv1.SubnamespaceAnchor{}
	a.Namespace, a.Name = parent, child
	return a
}

func TestCreateSubnamespace(t *testing.T) {
	c, _ := newFakeClient(t, nil, ns("", "acme"))
	var out bytes.Buffer
	if err := CreateSubnamespace(context.Background(), c, &out, "acme", "dev"); err != nil {
		t.Fatalf("CreateSubnamespace: %v", err)
	}
	if want := "Successfully created \"dev\" subnamespace anchor in \"acme\" namespace\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "acme", Name: "dev"}, &hncv1.SubnamespaceAnchor{}); err != nil {
		t.Errorf("anchor not created: %v", err)
	}
	err := CreateSubnamespace(context.Background(), c, &out, "acme", "dev")
	if err == nil || !strings.Contains(err.Error(), `could not create subnamespace anchor "dev" in namespace "acme"`) {
		t.Errorf("second create error = %v, want already-exists wrapped with context", err)
	}
	if err := CreateSubnamespace(context.Background(), c, &out, "", "dev"); err == nil || err.Error() != "parent must be set via --namespace or -n" {
		t.Errorf("missing parent error = %v", err)
	}
}

func TestDeleteSubnamespace(t *testing.T) {
	tests := []struct {
		name       string
		objs       []client.Object
		opts       DeleteOptions
		forbid     bool
		wantErr    string
		wantOut    string
		wantAnchor bool
		wantACD    bool
	}{
		{
			name:    "plain",
			objs:    []client.Object{anchor("acme", "dev")},
			opts:    DeleteOptions{Parent: "acme", Child: "dev"},
			wantOut: "Successfully deleted \"dev\" subnamespace anchor in \"acme\" namespace\n",
		},
		{
			name:    "cascading creates the child's hierarchy",
			objs:    []client.Object{anchor("acme", "dev")},
			opts:    DeleteOptions{Parent: "acme", Child: "dev", AllowCascadingDeletion: true},
			wantOut: "Allowing cascading deletion on 'dev'\nSuccessfully deleted \"dev\" subnamespace anchor in \"acme\" namespace\n",
			wantACD: true,
		},
		{
			name:       "not a subnamespace",
			opts:       DeleteOptions{Parent: "acme", Child: "dev"},
			wantErr:    `"dev" is not a subnamespace of "acme"`,
			wantAnchor: false,
		},
		{
			name:       "webhook refusal hints at the flag",
			objs:       []client.Object{anchor("acme", "dev")},
			opts:       DeleteOptions{Parent: "acme", Child: "dev"},
			forbid:     true,
			wantErr:    "retry with --allow-cascading-deletion",
			wantAnchor: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var extra *interceptor.Funcs
			if tt.forbid {
				extra = &interceptor.Funcs{Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
					return apierrors.NewForbidden(hncv1.SubnamespaceAnchorGR, obj.GetName(), nil)
				}}
			}
			c, _ := newFakeClient(t, extra, tt.objs...)
			var out bytes.Buffer
			err := DeleteSubnamespace(context.Background(), c, &out, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("DeleteSubnamespace: %v", err)
			}
			if out.String() != tt.wantOut {
				t.Errorf("output = %q, want %q", out.String(), tt.wantOut)
			}
			err = c.Get(context.Background(), types.NamespacedName{Namespace: "acme", Name: "dev"}, &hncv1.SubnamespaceAnchor{})
			if gotAnchor := err == nil; gotAnchor != tt.wantAnchor {
				t.Errorf("anchor exists = %t, want %t (get: %v)", gotAnchor, tt.wantAnchor, err)
			}
			h := &hncv1.HierarchyConfiguration{}
			_ = c.Get(context.Background(), types.NamespacedName{Namespace: "dev", Name: hncv1.Singleton}, h)
			if h.Spec.AllowCascadingDeletion != tt.wantACD {
				t.Errorf("dev allowCascadingDeletion = %t, want %t", h.Spec.AllowCascadingDeletion, tt.wantACD)
			}
		})
	}
}
