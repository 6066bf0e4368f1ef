package quota

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
)

func rl(t testing.TB, s string) corev1.ResourceList {
	t.Helper()
	l, err := quota.ParseList(s)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return l
}

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(hncv1.AddToScheme(s))
	utilruntime.Must(tenancyv1.AddToScheme(s))
	return s
}

func TestIsAdmission(t *testing.T) {
	if !IsAdmission("system:apiserver") {
		t.Error("the API server's loopback user is admission")
	}
	if IsAdmission("system:kube-controller-manager") {
		t.Error("kube-controller-manager recalculates, it does not admit")
	}
}

func TestDecideSingletonEdit(t *testing.T) {
	base := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: quota.UnscopedSingletonName,
		Labels: map[string]string{ctrlquota.LabelSingleton: "true"}}, Spec: corev1.ResourceQuotaSpec{Hard: rl(t, "pods=5")}}
	raised := base.DeepCopy()
	raised.Spec.Hard = rl(t, "pods=500")
	unlabelled := base.DeepCopy()
	unlabelled.Labels = nil
	annotated := base.DeepCopy()
	annotated.Annotations = map[string]string{"x": "y"}
	epoched := base.DeepCopy()
	epoched.Annotations = map[string]string{ctrlquota.AnnotationEpoch: "e-old"}
	tests := []struct {
		name        string
		op          admissionv1.Operation
		requester   string
		terminating bool
		next        *corev1.ResourceQuota
		wantDenied  bool
	}{
		{"manager updates", admissionv1.Update, "canopy", false, raised, false},
		{"user raises hard", admissionv1.Update, "alice", false, raised, true},
		{"user removes the label", admissionv1.Update, "alice", false, unlabelled, true},
		{"user annotates", admissionv1.Update, "alice", false, annotated, false},
		{"user sets the escrow epoch", admissionv1.Update, "alice", false, epoched, true},
		{"manager sets the escrow epoch", admissionv1.Update, "canopy", false, epoched, false},
		{"user deletes", admissionv1.Delete, "alice", false, nil, true},
		{"namespace controller deletes in a terminating namespace", admissionv1.Delete, "system:kube-controller-manager", true, nil, false},
		{"manager deletes", admissionv1.Delete, "canopy", false, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := DecideSingletonEdit(tc.op, tc.requester, "canopy", tc.terminating, base, tc.next)
			if (msg != "") != tc.wantDenied {
				t.Errorf("denial = %q, want denied=%v", msg, tc.wantDenied)
			}
			if msg != "" && !strings.Contains(msg, "HierarchicalResourceQuota or HierarchicalQuota") {
				t.Errorf("denial %q does not tell the user what to change", msg)
			}
		})
	}
}

func chain(names ...string) *forest.Forest {
	f := forest.New()
	f.Lock()
	defer f.Unlock()
	for _, n := range names {
		f.Get(n).SetExists(true)
	}
	return f
}

func TestValidateHQ(t *testing.T) {
	f := chain("p", "api", "batch")
	f.Lock()
	f.Get("api").SetParent(f.Get("p"))
	f.Get("batch").SetParent(f.Get("p"))
	f.Unlock()
	v := ctrlquota.TreeOf(f, "api")
	parent := quota.Quota{Kind: quota.KindHierarchicalQuota, Namespace: "p", Name: "parent", Hard: rl(t, "cpu=40"),
		Allocations: map[string]corev1.ResourceList{"api": rl(t, "cpu=20"), "batch": rl(t, "cpu=10")}}
	hq := func(ns, hard string, alloc map[string]corev1.ResourceList) *tenancyv1.HierarchicalQuota {
		return &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "q"},
			Spec: tenancyv1.HierarchicalQuotaSpec{Hard: rl(t, hard), Allocations: alloc}}
	}
	tests := []struct {
		name      string
		others    []quota.Quota
		q         *tenancyv1.HierarchicalQuota
		wantErrs  []string
		wantWarns int
	}{
		{name: "fits its allocation", others: []quota.Quota{parent}, q: hq("api", "cpu=20", nil)},
		{name: "larger than its allocation", others: []quota.Quota{parent}, q: hq("api", "cpu=21", nil),
			wantErrs: []string{"spec.hard.cpu"}},
		{name: "allocations sum above hard", q: hq("p", "cpu=10", map[string]corev1.ResourceList{"api": rl(t, "cpu=6"), "batch": rl(t, "cpu=6")}),
			wantErrs: []string{"spec.allocations"}},
		{name: "lowering the parent below a child warns",
			others:    []quota.Quota{{Kind: quota.KindHierarchicalQuota, Namespace: "api", Name: "child", Hard: rl(t, "cpu=20")}},
			q:         hq("p", "cpu=10", nil),
			wantWarns: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs, warns := ValidateHQ(v, tc.others, tc.q)
			var got []string
			for _, e := range errs {
				got = append(got, e.Field)
			}
			if diff := cmp.Diff(tc.wantErrs, got); diff != "" {
				t.Errorf("error fields (-want +got):\n%s\nerrors: %v", diff, errs)
			}
			if len(warns) != tc.wantWarns {
				t.Errorf("warnings = %q, want %d", warns, tc.wantWarns)
			}
		})
	}
}

// statusRequest is the API server's quota admission updating the status of
// the singleton in ns from prev to next pods.
func statusRequest(t *testing.T, ns string, prev, next int) admission.Request {
	return statusRequestAt(t, ns, 1, prev, next)
}

// statusRequestAt is statusRequest with the old object at resourceVersion rv.
func statusRequestAt(t *testing.T, ns string, rv uint64, prev, next int) admission.Request {
	t.Helper()
	mk := func(n int) []byte {
		rq := &corev1.ResourceQuota{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: quota.UnscopedSingletonName, Labels: map[string]string{ctrlquota.LabelSingleton: "true"},
				ResourceVersion: strconv.FormatUint(rv, 10)},
			Spec:   corev1.ResourceQuotaSpec{Hard: rl(t, "pods=100")},
			Status: corev1.ResourceQuotaStatus{Used: rl(t, fmt.Sprintf("pods=%d", n))},
		}
		raw, err := json.Marshal(rq)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation: admissionv1.Update, Namespace: ns,
		UserInfo: authnv1.UserInfo{Username: "system:apiserver"},
		Object:   runtime.RawExtension{Raw: mk(next)}, OldObject: runtime.RawExtension{Raw: mk(prev)},
	}}
}

// TestStatusHandlerConcurrentReservations runs the ledger protocol from
// many goroutines at once, as two replicas would, against a quota that
// admits exactly 100 pods over ten namespaces: exactly 100 are admitted and
// the ledger never records more.
func TestStatusHandlerConcurrentReservations(t *testing.T) {
	ctx := context.Background()
	names := []string{"root"}
	for i := range 10 {
		names = append(names, fmt.Sprintf("c%d", i))
	}
	f := chain(names...)
	f.Lock()
	for _, n := range names[1:] {
		f.Get(n).SetParent(f.Get("root"))
	}
	f.Unlock()
	hrq := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=100")}}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(hrq).Build()
	h := &StatusHandler{Forest: f, Cache: c, Decoder: admission.NewDecoder(testScheme()), MaxAttempts: 1000,
		Ledgers: ctrlquota.LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"}}

	// The API server serialises quota updates per namespace; model that
	// with one lock and counter per namespace.
	type nsState struct {
		sync.Mutex
		used int
		rv   uint64
	}
	var rev atomic.Uint64
	states := map[string]*nsState{}
	for _, n := range names {
		states[n] = &nsState{}
	}
	var admitted, denied int
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := range 200 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ns := names[i%len(names)]
			st := states[ns]
			st.Lock()
			defer st.Unlock()
			resp := h.Handle(ctx, statusRequestAt(t, ns, st.rv, st.used, st.used+1))
			mu.Lock()
			defer mu.Unlock()
			if resp.Allowed {
				st.used++
				st.rv = rev.Add(1)
				admitted++
				return
			}
			if resp.Result == nil || !strings.Contains(resp.Result.Message, `exceeded quota: HierarchicalResourceQuota "q" in namespace "root"`) {
				t.Errorf("denial does not name the quota: %+v", resp.Result)
			}
			denied++
		}()
	}
	wg.Wait()
	if admitted != 100 || denied != 100 {
		t.Errorf("admitted %d, denied %d; want 100 and 100", admitted, denied)
	}
	stored, err := h.Ledgers.Get(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	total := quota.Usage(stored.Ledger.Usage())
	var sum int64
	for _, l := range total {
		p := l[corev1.ResourcePods]
		sum += p.Value()
	}
	if sum != 100 {
		t.Errorf("ledger records %d pods, want 100", sum)
	}
}

func TestStatusHandlerAllowsWithoutReserving(t *testing.T) {
	ctx := context.Background()
	f := chain("root")
	c := fake.NewClientBuilder().WithScheme(testScheme()).Build()
	h := &StatusHandler{Forest: f, Cache: c, Decoder: admission.NewDecoder(testScheme()),
		Ledgers: ctrlquota.LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"}}
	recalc := statusRequest(t, "root", 5, 5)
	recalc.UserInfo.Username = "system:kube-controller-manager"
	shrink := statusRequest(t, "root", 5, 4)
	for name, req := range map[string]admission.Request{"unchanged recount": recalc, "shrink": shrink} {
		if resp := h.Handle(ctx, req); !resp.Allowed {
			t.Errorf("%s denied: %+v", name, resp.Result)
		}
	}
	err := c.Get(ctx, client.ObjectKey{Namespace: "canopy-system", Name: ctrlquota.LedgerName("root")}, &corev1.ConfigMap{})
	if err == nil {
		t.Error("a ledger was written for requests that need no reservation")
	}
	h.Loaded = func() bool { return false }
	if resp := h.Handle(ctx, statusRequest(t, "root", 0, 1)); resp.Allowed || !strings.Contains(resp.Result.Message, "Canopy is starting") {
		t.Errorf("growth before the forest loaded: %+v", resp.Result)
	}
}

func TestRecount(t *testing.T) {
	ctx := context.Background()
	f := chain("root")
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
	}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(pod("a"), pod("b"), pod("c")).Build()
	h := &StatusHandler{Forest: f, Cache: c, Live: c, Decoder: admission.NewDecoder(testScheme()),
		Ledgers: ctrlquota.LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"}}
	recount := func(prev, next int) admission.Response {
		req := statusRequestAt(t, "root", 7, prev, next)
		req.UserInfo.Username = "system:kube-controller-manager"
		return h.Handle(ctx, req)
	}
	// Three pods exist: a recount from a cache that misses one is stale.
	if resp := recount(4, 2); resp.Allowed || !strings.Contains(resp.Result.Message, "recounted pods=2 is below the 3 that exist") {
		t.Errorf("stale recount: %+v", resp.Result)
	}
	// A recount to what exists is allowed at once, however recent the
	// admissions.
	if resp := recount(4, 3); !resp.Allowed {
		t.Errorf("true recount denied: %+v", resp.Result)
	}
	// A recount that raises usage is allowed and recorded at its base, so
	// that replicas whose informer lags still count it.
	if resp := recount(0, 3); !resp.Allowed {
		t.Errorf("raising recount denied: %+v", resp.Result)
	}
	stored, err := h.Ledgers.Get(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	if e := stored.Ledger.Entries[quota.Key{Namespace: "root"}]; quota.String(e.Used) != "pods=3" || e.Base != 7 {
		t.Errorf("ledger entry after a raising recount = %+v, want pods=3 at base 7", e)
	}
}

// A refused stale recount is written in its place corrected to the live
// count, so the usage it rightly lowered does not stay counted while the
// controller backs off.
func TestRecountCorrected(t *testing.T) {
	ctx := context.Background()
	c, rq, h := staleRecountFixture(t)
	req := statusRequestAt(t, "root", quota.ParseRV(rq.ResourceVersion), 4, 2)
	req.UserInfo.Username = "system:kube-controller-manager"
	if resp := h.Handle(ctx, req); resp.Allowed {
		t.Fatal("stale recount allowed")
	}
	deadline := time.Now().Add(10 * time.Second)
	for usedOf(t, c, rq) != "pods=3" {
		if time.Now().After(deadline) {
			t.Fatalf("singleton used = %s, want the corrected pods=3", usedOf(t, c, rq))
		}
		time.Sleep(10 * time.Millisecond) // polling a fake client's state with a deadline
	}
}

// A recount lowering load balancers, node ports or claimed storage is
// checked against live lists of services and claims, as pods are: one below
// what exists is refused, a true one allowed.
func TestRecountServicesAndClaims(t *testing.T) {
	ctx := context.Background()
	gold := "gold"
	objs := []client.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "lb"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80, NodePort: 30001}, {Port: 443, NodePort: 30002}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "np"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: 30003}}}},
		// Another namespace's services and claims do not count.
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "lb"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &gold,
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("9Gi")}}}},
	}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(objs...).Build()
	h := &StatusHandler{Forest: chain("root"), Cache: c, Live: c, Decoder: admission.NewDecoder(testScheme()),
		Ledgers: ctrlquota.LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"}}
	recount := func(prev, next string) admission.Response {
		t.Helper()
		mk := func(used string) []byte {
			rq := &corev1.ResourceQuota{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
				ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: quota.UnscopedSingletonName,
					Labels: map[string]string{ctrlquota.LabelSingleton: "true"}, ResourceVersion: "7"},
				Spec:   corev1.ResourceQuotaSpec{Hard: rl(t, "services.loadbalancers=10")},
				Status: corev1.ResourceQuotaStatus{Used: rl(t, used)}}
			raw, err := json.Marshal(rq)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
		return h.Handle(ctx, admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			Operation: admissionv1.Update, Namespace: "root",
			UserInfo: authnv1.UserInfo{Username: "system:kube-controller-manager"},
			Object:   runtime.RawExtension{Raw: mk(next)}, OldObject: runtime.RawExtension{Raw: mk(prev)},
		}})
	}
	for _, tc := range []struct {
		prev, next string
		allowed    bool
		why        string
	}{
		{"services.loadbalancers=2", "services.loadbalancers=0", false, "services.loadbalancers=0 is below the 1 that exist"},
		{"services.loadbalancers=2", "services.loadbalancers=1", true, ""},
		{"services.nodeports=4", "services.nodeports=2", false, "services.nodeports=2 is below the 3 that exist"},
		{"services.nodeports=4", "services.nodeports=3", true, ""},
		{"requests.storage=5Gi", "requests.storage=1Gi", false, "requests.storage=1Gi is below the 2Gi that exist"},
		{"requests.storage=5Gi", "requests.storage=2Gi", true, ""},
		{"gold.storageclass.storage.k8s.io/persistentvolumeclaims=2", "gold.storageclass.storage.k8s.io/persistentvolumeclaims=0", false, "below the 1 that exist"},
		{"gold.storageclass.storage.k8s.io/requests.storage=3Gi", "gold.storageclass.storage.k8s.io/requests.storage=2Gi", true, ""},
	} {
		resp := recount(tc.prev, tc.next)
		if resp.Allowed != tc.allowed || !tc.allowed && !strings.Contains(resp.Result.Message, tc.why) {
			t.Errorf("recount %s -> %s: allowed=%v %q, want allowed=%v %q", tc.prev, tc.next, resp.Allowed, resp.Result.Message, tc.allowed, tc.why)
		}
	}
}
