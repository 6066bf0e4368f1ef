package scale

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// writers is how many goroutines the benchmark's one client writes with.
const writers = 64

// tree is n namespaces four levels deep (a root and three levels below
// it), numbered breadth first with the same fanout at every level.
type tree struct {
	root     string
	names    []string // root first, then level by level
	parent   map[string]string
	children map[string][]string
}

func newTree(root string, n int) tree {
	f := 1
	for 1+f+f*f+f*f*f < n {
		f++
	}
	t := tree{root: root, parent: map[string]string{}, children: map[string][]string{}}
	for i := range n {
		nm := root
		if i > 0 {
			nm = fmt.Sprintf("%s-%d", root, i)
			p := t.names[(i-1)/f]
			t.parent[nm] = p
			t.children[p] = append(t.children[p], nm)
		}
		t.names = append(t.names, nm)
	}
	return t
}

// leaf is the deepest namespace.
func (t tree) leaf() string { return t.names[len(t.names)-1] }

func (t tree) descendants() []string { return t.names[1:] }

// nsTracker follows the tree's namespaces through a watch: which exist,
// and which carry the root's tree label (the hierarchy has converged for
// them).
type nsTracker struct {
	mu       sync.Mutex
	exists   map[string]bool
	labelled map[string]bool
	want     map[string]bool
	// onExists is called once for each tree namespace that appears.
	onExists func(string)
	done     chan struct{}
}

func trackNamespaces(ctx context.Context, cl *cluster, t tree, onExists func(string)) (*nsTracker, error) {
	tr := &nsTracker{exists: map[string]bool{}, labelled: map[string]bool{}, want: map[string]bool{},
		onExists: onExists, done: make(chan struct{})}
	for _, nm := range t.names {
		tr.want[nm] = true
	}
	label := t.root + api.LabelTreeDepthSuffix
	err := watchEvents(ctx, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return cl.cs.CoreV1().Namespaces().Watch(ctx, o)
	}, func(ctx context.Context) (string, error) {
		l, err := cl.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return "", err
		}
		return l.ResourceVersion, nil
	}, func(ev watch.Event) {
		ns, ok := ev.Object.(*corev1.Namespace)
		if !ok || !tr.want[ns.Name] {
			return
		}
		tr.mu.Lock()
		first := !tr.exists[ns.Name] && ev.Type != watch.Deleted
		tr.exists[ns.Name] = ev.Type != watch.Deleted
		_, has := ns.Labels[label]
		tr.labelled[ns.Name] = has && ev.Type != watch.Deleted
		n := 0
		for _, l := range tr.labelled {
			if l {
				n++
			}
		}
		if n == len(tr.want) {
			select {
			case <-tr.done:
			default:
				close(tr.done)
			}
		}
		tr.mu.Unlock()
		if first && tr.onExists != nil {
			tr.onExists(ns.Name)
		}
	})
	return tr, err
}

// buildByParent creates the namespaces, then one HierarchyConfiguration
// per descendant naming its parent. For a manager it returns once every
// namespace carries the root's tree label; for the floor, once the writes
// returned.
func buildByParent(ctx context.Context, cl *cluster, t tree, floor bool) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var tr *nsTracker
	if !floor {
		var err error
		if tr, err = trackNamespaces(ctx, cl, t, nil); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	if err := parallel(ctx, t.names, func(ctx context.Context, nm string) error {
		return cl.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nm}})
	}); err != nil {
		return 0, err
	}
	if err := parallel(ctx, t.descendants(), func(ctx context.Context, nm string) error {
		return setParent(ctx, cl.c, nm, t.parent[nm])
	}); err != nil {
		return 0, err
	}
	if floor {
		return time.Since(start), nil
	}
	return waitDone(ctx, tr.done, start)
}

// setParent creates nm's HierarchyConfiguration naming parent, or updates
// the one the manager created first. A manager may refuse a parent it has
// not seen yet (Canopy does), so a refusal is tried again, every 50 ms for
// up to a minute, as a user's script would.
func setParent(ctx context.Context, c client.Client, nm, parent string) error {
	return retry.OnError(backoff, func(error) bool { return ctx.Err() == nil }, func() error {
		hc := &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: nm, Name: api.Singleton},
			Spec: api.HierarchyConfigurationSpec{Parent: parent}}
		err := c.Create(ctx, hc)
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(hc), hc); err != nil {
			return err
		}
		hc.Spec.Parent = parent
		return c.Update(ctx, hc)
	})
}

// buildByAnchors creates the root namespace and, as soon as each
// namespace of the tree exists, the anchors of its children in it. For a
// manager it returns once every namespace carries the root's tree label
// and every anchor reports Ok (trackAnchorsOk).
// The floor has no manager to turn anchors into namespaces, so it creates
// the same namespaces and anchors itself, namespaces first.
func buildByAnchors(ctx context.Context, cl *cluster, t tree, floor bool) (time.Duration, error) {
	anchor := func(ctx context.Context, nm string) error {
		return cl.c.Create(ctx, &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: t.parent[nm], Name: nm}})
	}
	if floor {
		start := time.Now()
		if err := parallel(ctx, t.names, func(ctx context.Context, nm string) error {
			return cl.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nm}})
		}); err != nil {
			return 0, err
		}
		if err := parallel(ctx, t.descendants(), anchor); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each namespace appears once, so the queue never fills; the workers
	// stop with ctx.
	work := make(chan string, len(t.names))
	errs := make(chan error, 1)
	tr, err := trackNamespaces(ctx, cl, t, func(nm string) {
		for _, ch := range t.children[nm] {
			select {
			case work <- ch:
			case <-ctx.Done():
			}
		}
	})
	if err != nil {
		return 0, err
	}
	for range writers {
		go func() {
			for {
				var nm string
				select {
				case nm = <-work:
				case <-ctx.Done():
					return
				}
				// The manager may refuse an anchor in a namespace it has
				// not seen yet; try again until it does.
				err := retry.OnError(backoff, func(error) bool { return ctx.Err() == nil }, func() error {
					err := anchor(ctx, nm)
					if apierrors.IsAlreadyExists(err) {
						return nil
					}
					return err
				})
				if err != nil {
					select {
					case errs <- fmt.Errorf("anchor %s: %w", nm, err):
					default:
					}
					return
				}
			}
		}()
	}
	anchorsOk, err := trackAnchorsOk(ctx, cl, t)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := cl.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: t.root}}); err != nil {
		return 0, err
	}
	for _, done := range []<-chan struct{}{tr.done, anchorsOk} {
		select {
		case err := <-errs:
			return 0, err
		case <-done:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return time.Since(start), nil
}

// backoff retries a refused anchor every 50 ms for up to a minute.
var backoff = wait.Backoff{Duration: 50 * time.Millisecond, Factor: 1, Steps: 1200}

func waitDone(ctx context.Context, done <-chan struct{}, start time.Time) (time.Duration, error) {
	select {
	case <-done:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("not converged after %s: %w", time.Since(start).Round(time.Second), ctx.Err())
	}
}

// parallel runs fn on every item with the benchmark's writers and returns
// the first error.
func parallel(ctx context.Context, items []string, fn func(context.Context, string) error) error {
	work := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if err := fn(ctx, it); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("%s: %w", it, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
	return first
}
