package kubectl

import (
	"context"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// callCounter counts the client calls a command makes, by verb and kind.
type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (cc *callCounter) add(verb string, obj any) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.calls[fmt.Sprintf("%s %T", verb, obj)]++
}

// total is the number of calls of a verb, over all kinds.
func (cc *callCounter) total(verb string) int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	n := 0
	for k, v := range cc.calls {
		if len(k) > len(verb) && k[:len(verb)+1] == verb+" " {
			n += v
		}
	}
	return n
}

// newFakeClient returns a fake client holding objs, and the counter of the
// Get and List calls made through it. extra, if set, runs before the call
// reaches the fake and may fail it.
func newFakeClient(t *testing.T, extra *interceptor.Funcs, objs ...client.Object) (client.Client, *callCounter) {
	t.Helper()
	s, err := NewScheme()
	if err != nil {
		t.Fatalf("NewScheme: %v", err)
	}
	cc := &callCounter{calls: map[string]int{}}
	funcs := interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			cc.add("Get", obj)
			if extra != nil && extra.Get != nil {
				return extra.Get(ctx, c, key, obj, opts...)
			}
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			cc.add("List", list)
			return c.List(ctx, list, opts...)
		},
	}
	if extra != nil {
		funcs.Delete = extra.Delete
		funcs.Update = extra.Update
		funcs.Create = extra.Create
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithInterceptorFuncs(funcs).Build()
	return c, cc
}

// ns builds a namespace with HNC's tree labels for the given ancestry
// (root first, itself last) and, if subOf is set, the subnamespace-of
// annotation.
func ns(subOf string, ancestry ...string) *corev1.Namespace {
	name := ancestry[len(ancestry)-1]
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	for i, a := range ancestry {
		n.Labels[a+hncv1.LabelTreeDepthSuffix] = fmt.Sprint(len(ancestry) - 1 - i)
	}
	if subOf != "" {
		n.Annotations = map[string]string{hncv1.SubnamespaceOf: subOf}
	}
	return n
}

// hc builds a HierarchyConfiguration.
func hc(namespace, parent string, children []string, conds ...metav1.Condition) *hncv1.HierarchyConfiguration {
	h := &hncv1.HierarchyConfiguration{}
	h.Namespace, h.Name = namespace, hncv1.Singleton
	h.Spec.Parent = parent
	h.Status.Children = children
	h.Status.Conditions = conds
	return h
}

func cond(typ, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: msg}
}
