package quota

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLedgerEncodeDecode(t *testing.T) {
	l := &Ledger{Root: "payments", Entries: map[Key]Entry{
		{Namespace: "payments"}:                 {Used: rl(t, "pods=3,requests.cpu=2")},
		{Namespace: "api"}:                      {Used: rl(t, "requests.memory=1Gi"), Base: 812},
		{Namespace: "api", Scope: highPriority}: {Used: rl(t, "pods=1"), Base: 7},
		{Namespace: "web"}:                      {Used: rl(t, "")},
	}}
	data := EncodeLedger(l)
	id := ScopeID(highPriority)
	want := map[string]string{
		"_root":        "payments",
		"payments":     "pods=3,requests.cpu=2;base=0",
		"api":          "requests.memory=1Gi;base=812",
		"api." + id:    "pods=1;base=7",
		"_scope." + id: highPriority,
		"web":          ";base=0",
	}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("EncodeLedger (-want +got):\n%s", diff)
	}
	got, err := DecodeLedger(data)
	if err != nil {
		t.Fatalf("DecodeLedger: %v", err)
	}
	if diff := cmp.Diff(l, got, quantityEqual); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestDecodeLedgerErrors(t *testing.T) {
	tests := []struct {
		name string
		data map[string]string
		want string // a prefix of the error: the rest comes from the standard library
	}{
		{
			name: "unknown scope id",
			data: map[string]string{"api.0123456789abcdef": "pods=1"},
			want: `decoding ledger key "api.0123456789abcdef": unknown scope id "0123456789abcdef"`,
		},
		{
			name: "scope not matching its id",
			data: map[string]string{"_scope.0123456789abcdef": highPriority},
			want: `decoding ledger key "_scope.0123456789abcdef": scope "PriorityClass In (high)" does not match its id`,
		},
		{
			name: "bad quantity",
			data: map[string]string{"api": "pods=lots"},
			want: `decoding ledger key "api": parsing quantity of "pods": `,
		},
		{
			name: "bad entry",
			data: map[string]string{"api": "pods"},
			want: `decoding ledger key "api": parsing resource entry "pods": want name=quantity`,
		},
		{
			name: "bad base",
			data: map[string]string{"api": "pods=1;base=yesterday"},
			want: `decoding base resourceVersion of ledger key "api": `,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeLedger(tc.data)
			if got := errString(err); err == nil || !strings.HasPrefix(got, tc.want) {
				t.Errorf("DecodeLedger error = %q, want it to start with %q", got, tc.want)
			}
		})
	}
}

func TestDecodeLegacyLedger(t *testing.T) {
	// A ledger written by the release that settled reservations by time:
	// its entries get base 0, which any version of the singleton settles.
	l, err := DecodeLedger(map[string]string{"_root": "payments", "api": "pods=3;reservedAt=2026-03-01T12:00:00Z", "web": "pods=1"})
	if err != nil {
		t.Fatalf("DecodeLedger: %v", err)
	}
	want := map[Key]Entry{{Namespace: "api"}: {Used: rl(t, "pods=3")}, {Namespace: "web"}: {Used: rl(t, "pods=1")}}
	if diff := cmp.Diff(want, l.Entries, quantityEqual); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

// apiServer models the API server's side of the protocol for one tree: a
// committed status.used and resourceVersion per namespace (etcd revisions,
// one counter for the whole store), and an informer per replica that may
// lag behind it.
type apiServer struct {
	rev  uint64
	used map[string]int
	rv   map[string]uint64
}

func newAPIServer(nss ...string) *apiServer {
	a := &apiServer{rev: 100, used: map[string]int{}, rv: map[string]uint64{}}
	for _, ns := range nss {
		a.rev++
		a.rv[ns] = a.rev
	}
	return a
}

// commit records a committed status update of ns to n pods.
func (a *apiServer) commit(ns string, n int) {
	a.rev++
	a.used[ns], a.rv[ns] = n, a.rev
}

// informer is a replica's view: the committed state as of some moment.
type informer struct {
	used Usage
	vs   Versions
}

func (a *apiServer) informer(t testing.TB) informer {
	in := informer{used: Usage{}, vs: Versions{}}
	for ns, rv := range a.rv {
		in.used[Key{Namespace: ns}] = rl(t, "pods="+strconv.Itoa(a.used[ns]))
		in.vs[Key{Namespace: ns}] = rv
	}
	return in
}

func (a *apiServer) request(t testing.TB, ns string, n int) Reservation {
	return Reservation{Namespace: ns, Base: a.rv[ns], Old: rl(t, "pods="+strconv.Itoa(a.used[ns])), New: rl(t, "pods="+strconv.Itoa(n))}
}

func TestAdmitSequentialReachesExactlyTheLimit(t *testing.T) {
	// Two replicas alternate, each reading the ledger the other wrote, one
	// with an informer that never moves past the start: the tree fills to
	// exactly pods=10 and the eleventh pod is denied wherever it is asked
	// for.
	quotas := []Quota{hrq("payments", "q", "pods=10", t)}
	nss := []string{"payments", "api", "api-v1", "batch", "web"}
	a := newAPIServer(nss...)
	stale := a.informer(t)
	stored := EncodeLedger(&Ledger{Root: "payments", Entries: map[Key]Entry{}})
	for i := range 10 {
		ns := nss[i%len(nss)]
		in := a.informer(t)
		if i%2 == 1 {
			in = stale
		}
		l, err := DecodeLedger(stored)
		if err != nil {
			t.Fatalf("DecodeLedger: %v", err)
		}
		next, err := Admit(l, NewSnapshot(paymentsTree(), quotas, in.used), in.vs, a.request(t, ns, a.used[ns]+1))
		if err != nil || next == nil {
			t.Fatalf("admission %d in %s: ledger %v, error %v", i+1, ns, next, err)
		}
		stored = EncodeLedger(next)
		a.commit(ns, a.used[ns]+1)
	}
	l, err := DecodeLedger(stored)
	if err != nil {
		t.Fatalf("DecodeLedger: %v", err)
	}
	for _, in := range []informer{stale, a.informer(t)} {
		s := NewSnapshot(paymentsTree(), quotas, in.used)
		if got := String(SubtreeUsage(Effective(l, s, in.vs), "payments", "")); got != "pods=10" {
			t.Errorf("effective total = %q, want pods=10", got)
		}
		for _, ns := range nss {
			_, err := Admit(l, s, in.vs, a.request(t, ns, a.used[ns]+1))
			var exceeded *ExceededError
			if !errors.As(err, &exceeded) {
				t.Errorf("Admit of pod 11 in %s: got %v, want an *ExceededError", ns, err)
				continue
			}
			if got, want := String(exceeded.Used), "pods=10"; got != want {
				t.Errorf("Admit of pod 11 in %s: used %q, want %q", ns, got, want)
			}
		}
	}
	// A deletion, once committed (a recount), frees room at once for a
	// replica whose informer shows it, with no write to the ledger; one
	// whose informer lags still counts the reservation and denies.
	a.commit("web", a.used["web"]-1)
	fresh := a.informer(t)
	if next, err := Admit(l, NewSnapshot(paymentsTree(), quotas, fresh.used), fresh.vs, a.request(t, "batch", a.used["batch"]+1)); err != nil || next == nil {
		t.Errorf("Admit after a committed deletion: ledger %v, error %v", next, err)
	}
	if _, err := Admit(l, NewSnapshot(paymentsTree(), quotas, stale.used), stale.vs, a.request(t, "batch", a.used["batch"]+1)); err == nil {
		t.Error("a replica whose informer has not seen the deletion admitted pod 11")
	}
}

func TestAdmit(t *testing.T) {
	quotas := []Quota{hrq("payments", "q", "pods=10", t)}
	web, api := Key{Namespace: "web"}, Key{Namespace: "api"}
	tests := []struct {
		name     string
		informer Usage
		versions Versions
		ledger   map[Key]Entry
		req      Reservation
		wantErr  string
		// wantEntry is the entry of the request's namespace in the ledger
		// to write; nil means nothing is written.
		wantEntry *Entry
	}{
		{
			name:     "an unsettled reservation of another namespace wins over the informer",
			informer: usageOf(t, map[string]string{"web": "pods=1"}),
			versions: Versions{web: 50},
			ledger:   map[Key]Entry{web: {Used: rl(t, "pods=9"), Base: 50}},
			req:      Reservation{Namespace: "api", Base: 40, New: rl(t, "pods=2")},
			wantErr:  `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: pods=2, used: pods=9, limited: pods=10`,
		},
		{
			name:    "a reservation is unsettled while the informer has no singleton",
			ledger:  map[Key]Entry{web: {Used: rl(t, "pods=9"), Base: 50}},
			req:     Reservation{Namespace: "api", Base: 40, New: rl(t, "pods=2")},
			wantErr: `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: pods=2, used: pods=9, limited: pods=10`,
		},
		{
			name:      "a settled reservation gives way to the committed usage",
			informer:  usageOf(t, map[string]string{"web": "pods=1"}),
			versions:  Versions{web: 51},
			ledger:    map[Key]Entry{web: {Used: rl(t, "pods=9"), Base: 50}},
			req:       Reservation{Namespace: "api", Base: 40, New: rl(t, "pods=9")},
			wantEntry: &Entry{Used: rl(t, "pods=9"), Base: 40},
		},
		{
			name:     "committed usage counts where the ledger has no entry",
			informer: usageOf(t, map[string]string{"web": "pods=9"}),
			req:      Reservation{Namespace: "api", Base: 40, New: rl(t, "pods=2")},
			wantErr:  `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: pods=2, used: pods=9, limited: pods=10`,
		},
		{
			name:     "the old object is the namespace's baseline, not its informer",
			informer: usageOf(t, map[string]string{"api": "pods=0"}),
			versions: Versions{api: 30},
			req:      Reservation{Namespace: "api", Base: 40, Old: rl(t, "pods=9"), New: rl(t, "pods=11")},
			wantErr:  `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: pods=2, used: pods=9, limited: pods=10`,
		},
		{
			name:      "a reservation at the same base is the baseline",
			ledger:    map[Key]Entry{api: {Used: rl(t, "pods=6"), Base: 40}},
			req:       Reservation{Namespace: "api", Base: 40, Old: rl(t, "pods=5"), New: rl(t, "pods=7")},
			wantEntry: &Entry{Used: rl(t, "pods=7"), Base: 40},
		},
		{
			name:    "a batch at the same base cannot spend the headroom twice",
			ledger:  map[Key]Entry{api: {Used: rl(t, "pods=10"), Base: 40}},
			req:     Reservation{Namespace: "api", Base: 40, Old: rl(t, "pods=5"), New: rl(t, "pods=11")},
			wantErr: `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: pods=1, used: pods=10, limited: pods=10`,
		},
		{
			name:   "a request already covered at its base writes nothing",
			ledger: map[Key]Entry{api: {Used: rl(t, "pods=7"), Base: 40}},
			req:    Reservation{Namespace: "api", Base: 40, Old: rl(t, "pods=5"), New: rl(t, "pods=6")},
		},
		{
			name:      "a later base replaces a resolved reservation",
			ledger:    map[Key]Entry{api: {Used: rl(t, "pods=9"), Base: 40}},
			req:       Reservation{Namespace: "api", Base: 45, Old: rl(t, "pods=3"), New: rl(t, "pods=4")},
			wantEntry: &Entry{Used: rl(t, "pods=4"), Base: 45},
		},
		{
			name:   "a request older than the entry cannot commit and writes nothing",
			ledger: map[Key]Entry{api: {Used: rl(t, "pods=10"), Base: 45}},
			req:    Reservation{Namespace: "api", Base: 40, Old: rl(t, "pods=3"), New: rl(t, "pods=20")},
		},
		{
			name: "a decrease writes nothing",
			req:  Reservation{Namespace: "api", Base: 40, Old: rl(t, "pods=3"), New: rl(t, "pods=2")},
		},
		{
			name:      "a mixed update reserves the larger of old and new",
			req:       Reservation{Namespace: "api", Base: 40, Old: rl(t, "pods=3,cpu=2"), New: rl(t, "pods=4,cpu=1")},
			wantEntry: &Entry{Used: rl(t, "pods=4,requests.cpu=2"), Base: 40},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot(paymentsTree(), quotas, tc.informer)
			in := &Ledger{Root: "payments", Entries: tc.ledger}
			if in.Entries == nil {
				in.Entries = map[Key]Entry{}
			}
			before := EncodeLedger(in)
			out, err := Admit(in, s, tc.versions, tc.req)
			if diff := cmp.Diff(tc.wantErr, errString(err)); diff != "" {
				t.Errorf("Admit error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, EncodeLedger(in)); diff != "" {
				t.Errorf("Admit modified its input (-before +after):\n%s", diff)
			}
			if err != nil {
				return
			}
			var got *Entry
			if out != nil {
				e := out.Entries[Key{Namespace: tc.req.Namespace}]
				got = &e
			}
			if diff := cmp.Diff(tc.wantEntry, got, quantityEqual); diff != "" {
				t.Errorf("entry to write (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	api := Key{Namespace: "api"}
	l := &Ledger{Root: "payments", Entries: map[Key]Entry{api: {Used: rl(t, "pods=2"), Base: 40}}}
	// A recount that finds more than was charged is recorded without a
	// decision, even above every limit.
	next := Record(l, Reservation{Namespace: "api", Base: 44, Old: rl(t, "pods=2"), New: rl(t, "pods=50")})
	if next == nil || String(next.Entries[api].Used) != "pods=50" || next.Entries[api].Base != 44 {
		t.Errorf("Record = %+v, want pods=50 at base 44", next)
	}
	if Record(l, Reservation{Namespace: "api", Base: 44, Old: rl(t, "pods=2"), New: rl(t, "pods=1")}) != nil {
		t.Error("a lowering recount was recorded")
	}
}

func TestPruneAndUnsettled(t *testing.T) {
	api, web, gone := Key{Namespace: "api"}, Key{Namespace: "web"}, Key{Namespace: "gone"}
	l := &Ledger{Root: "payments", Entries: map[Key]Entry{
		api:  {Used: rl(t, "pods=2"), Base: 40},
		web:  {Used: rl(t, "pods=1"), Base: 50},
		gone: {Used: rl(t, "pods=3"), Base: 60},
	}}
	got, changed := Prune(l, func(k Key) bool { return k != gone })
	want := map[Key]Entry{api: l.Entries[api], web: l.Entries[web]}
	if diff := cmp.Diff(want, got.Entries, quantityEqual); diff != "" || !changed {
		t.Errorf("Prune changed=%v (-want +got):\n%s", changed, diff)
	}
	if _, changed := Prune(got, func(Key) bool { return true }); changed {
		t.Error("Prune reported a change when it kept everything")
	}
	// Settled entries stay: another replica's informer may lag.
	if len(got.Entries) != 2 {
		t.Errorf("Prune dropped a settled entry: %v", got.Entries)
	}
	keys := Unsettled(l, Versions{api: 41, web: 50})
	if diff := cmp.Diff([]Key{web}, keys); diff != "" {
		t.Errorf("Unsettled (-want +got):\n%s", diff)
	}
}
