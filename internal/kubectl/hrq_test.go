package kubectl

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestQuotaSummary(t *testing.T) {
	q := resource.MustParse
	tests := []struct {
		name       string
		hard, used corev1.ResourceList
		wantReq    string
		wantLim    string
	}{
		{"empty", nil, nil, "", ""},
		{
			name:    "requests, plain and limits split and sorted",
			hard:    corev1.ResourceList{"requests.memory": q("2Gi"), "limits.cpu": q("2"), "pods": q("5"), "requests.cpu": q("1")},
			used:    corev1.ResourceList{"requests.cpu": q("250m"), "limits.cpu": q("1500m")},
			wantReq: "pods: 0/5, requests.cpu: 250m/1, requests.memory: 0/2Gi",
			wantLim: "limits.cpu: 1500m/2",
		},
		{
			name:    "usage of an unlimited resource is not shown",
			hard:    corev1.ResourceList{"pods": q("5")},
			used:    corev1.ResourceList{"pods": q("1"), "secrets": q("9")},
			wantReq: "pods: 1/5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, lim := quotaSummary(tt.hard, tt.used)
			if req != tt.wantReq || lim != tt.wantLim {
				t.Errorf("quotaSummary = %q, %q; want %q, %q", req, lim, tt.wantReq, tt.wantLim)
			}
		})
	}
}

func TestQuotasGolden(t *testing.T) {
	tests := []struct {
		name string
		opts QuotaOptions
		want string
	}{
		{
			name: "one namespace",
			opts: QuotaOptions{Namespace: "acme"},
			want: `NAME      KIND                        AGE    REQUEST                            LIMIT
acme      HierarchicalQuota           3d     requests.memory: 1Gi/8Gi           <none>
compute   HierarchicalResourceQuota   120m   pods: 3/10, requests.cpu: 500m/4   limits.cpu: 0/8
`,
		},
		{
			name: "all namespaces ignore -n",
			opts: QuotaOptions{Namespace: "acme", AllNamespaces: true},
			want: `NAMESPACE    NAME      KIND                        AGE    REQUEST                            LIMIT
acme         acme      HierarchicalQuota           3d     requests.memory: 1Gi/8Gi           <none>
acme         compute   HierarchicalResourceQuota   120m   pods: 3/10, requests.cpu: 500m/4   limits.cpu: 0/8
standalone   fresh     HierarchicalQuota           30s    <none>                             limits.memory: 0/1Gi
`,
		},
		{
			name: "by name",
			opts: QuotaOptions{Namespace: "acme", Names: []string{"compute"}},
			want: `NAME      KIND                        AGE    REQUEST                            LIMIT
compute   HierarchicalResourceQuota   120m   pods: 3/10, requests.cpu: 500m/4   limits.cpu: 0/8
`,
		},
		{
			name: "empty namespace",
			opts: QuotaOptions{Namespace: "dev"},
			want: "No resources found in dev namespace.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, calls := newFakeClient(t, nil, richObjects()...)
			tt.opts.Now = testNow
			var out bytes.Buffer
			if err := Quotas(context.Background(), c, &out, tt.opts); err != nil {
				t.Fatalf("Quotas: %v", err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("hrq (-want +got):\n%s", diff)
			}
			if got := calls.total("List"); got != 2 {
				t.Errorf("hrq made %d List calls, want 2", got)
			}
		})
	}
}

func TestQuotasErrorsAndJSON(t *testing.T) {
	c, _ := newFakeClient(t, nil, richObjects()...)
	ctx := context.Background()
	err := Quotas(ctx, c, &bytes.Buffer{}, QuotaOptions{Namespace: "acme", Names: []string{"nope"}})
	if want := `no hierarchicalresourcequota or hierarchicalquota named "nope" found in acme namespace`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}

	var out bytes.Buffer
	if err := Quotas(ctx, c, &out, QuotaOptions{AllNamespaces: true, Output: OutputJSON}); err != nil {
		t.Fatalf("Quotas -o json: %v", err)
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(out.Bytes(), &list); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	var got []string
	for _, it := range list.Items {
		got = append(got, it.Kind+"/"+it.Metadata.Name)
	}
	want := []string{"HierarchicalQuota/acme", "HierarchicalResourceQuota/compute", "HierarchicalQuota/fresh"}
	if list.Kind != "List" {
		t.Errorf("kind = %q, want List", list.Kind)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}
