package uninstall

import (
	"context"
	"fmt"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// item is one object the uninstall must keep.
type item struct {
	uid      types.UID
	deleting bool
}

// snapshot records the namespaces and what is in them: Secrets,
// ConfigMaps, Deployments, ReplicaSets, pods, Roles and RoleBindings.
func snapshot(t *testing.T, c client.Client, namespaces []string) map[string]item {
	t.Helper()
	ctx := context.Background()
	out := map[string]item{}
	for _, nm := range namespaces {
		n := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: nm}, n); err == nil {
			out["namespace "+nm] = item{n.UID, n.DeletionTimestamp != nil}
		} else if client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
		for kind, l := range map[string]client.ObjectList{
			"Secret": &corev1.SecretList{}, "ConfigMap": &corev1.ConfigMapList{},
			"Deployment": &appsv1.DeploymentList{}, "ReplicaSet": &appsv1.ReplicaSetList{}, "Pod": &corev1.PodList{},
			"Role": &rbacv1.RoleList{}, "RoleBinding": &rbacv1.RoleBindingList{},
		} {
			if err := c.List(ctx, l, client.InNamespace(nm)); err != nil {
				t.Fatal(err)
			}
			items, err := metaItems(l)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range items {
				out[fmt.Sprintf("%s %s/%s", kind, nm, o.GetName())] = item{o.GetUID(), o.GetDeletionTimestamp() != nil}
			}
		}
	}
	return out
}

func metaItems(l client.ObjectList) ([]metav1.Object, error) {
	var out []metav1.Object
	switch l := l.(type) {
	case *corev1.SecretList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *corev1.ConfigMapList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.DeploymentList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.ReplicaSetList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *corev1.PodList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *rbacv1.RoleList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *rbacv1.RoleBindingList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		return nil, fmt.Errorf("unexpected list %T", l)
	}
	return out, nil
}

func sortedKeys(m map[string]item) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// orgSnapshot is a Grafana organization as the double holds it.
type orgSnapshot struct {
	id                  int64
	folders, dashboards []string
}

func snapshotOrg(g *grafanaapi.Server, name string) orgSnapshot {
	var s orgSnapshot
	g.View(func(st *grafanaapi.State) {
		o := st.OrgByName(name)
		if o == nil {
			return
		}
		s.id = o.ID
		s.folders = o.FolderUIDs()
		for uid := range o.Dashboards {
			s.dashboards = append(s.dashboards, uid)
		}
		sort.Strings(s.dashboards)
	})
	return s
}
