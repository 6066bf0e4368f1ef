package quota

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestLedgerEncodeDecode(t *testing.T) {
	l := &Ledger{Root: "payments", Entries: map[Key]Entry{
		{Namespace: "payments"}:                 {Used: rl(t, "pods=3,requests.cpu=2")},
		{Namespace: "api"}:                      {Used: rl(t, "requests.memory=1Gi"), ReservedAt: t0},
		{Namespace: "api", Scope: highPriority}: {Used: rl(t, "pods=1")},
		{Namespace: "web"}:                      {Used: rl(t, "")},
	}}
	data := EncodeLedger(l)
	id := ScopeID(highPriority)
	want := map[string]string{
		"_root":        "payments",
		"payments":     "pods=3,requests.cpu=2",
		"api":          "requests.memory=1Gi;reservedAt=2026-03-01T12:00:00Z",
		"api." + id:    "pods=1",
		"_scope." + id: highPriority,
		"web":          "",
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
			name: "bad time",
			data: map[string]string{"api": "pods=1;reservedAt=yesterday"},
			want: `decoding reservation time of ledger key "api": `,
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

func TestAdmitSequentialReachesExactlyTheLimit(t *testing.T) {
	// Two replicas alternate, each reading the ledger the other wrote: the
	// tree fills to exactly pods=10 and the eleventh pod is denied wherever
	// it is asked for, even though the snapshot's usage is stale (all zero).
	s := NewSnapshot(paymentsTree(), []Quota{hrq("payments", "q", "pods=10", t)}, nil)
	stored := EncodeLedger(&Ledger{Root: "payments", Entries: map[Key]Entry{}})
	nss := []string{"payments", "api", "api-v1", "batch", "web"}
	counts := map[string]int{}
	for i := range 10 {
		ns := nss[i%len(nss)]
		l, err := DecodeLedger(stored)
		if err != nil {
			t.Fatalf("DecodeLedger: %v", err)
		}
		counts[ns]++
		next, err := Admit(l, s, ns, "", rl(t, "pods="+strconv.Itoa(counts[ns])), t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatalf("admission %d in %s: %v", i+1, ns, err)
		}
		stored = EncodeLedger(next)
	}
	l, err := DecodeLedger(stored)
	if err != nil {
		t.Fatalf("DecodeLedger: %v", err)
	}
	if got := String(SubtreeUsage(s.WithUsage(l.Usage()), "payments", "")); got != "pods=10" {
		t.Errorf("ledger total = %q, want pods=10", got)
	}
	for _, ns := range nss {
		_, err := Admit(l, s, ns, "", rl(t, "pods="+strconv.Itoa(counts[ns]+1)), t0)
		var exceeded *ExceededError
		if !errors.As(err, &exceeded) {
			t.Errorf("Admit of pod 11 in %s: got %v, want an *ExceededError", ns, err)
			continue
		}
		if got, want := String(exceeded.Used), "pods=10"; got != want {
			t.Errorf("Admit of pod 11 in %s: used %q, want %q", ns, got, want)
		}
	}
	// A deletion is still admitted and frees room for one more elsewhere.
	freed, err := Admit(l, s, "web", "", rl(t, "pods="+strconv.Itoa(counts["web"]-1)), t0)
	if err != nil {
		t.Fatalf("Admit of a deletion: %v", err)
	}
	if _, err := Admit(freed, s, "batch", "", rl(t, "pods="+strconv.Itoa(counts["batch"]+1)), t0); err != nil {
		t.Errorf("Admit after a deletion: %v", err)
	}
}

func TestAdmit(t *testing.T) {
	quotas := []Quota{hrq("payments", "q", "pods=10", t)}
	tests := []struct {
		name       string
		snapshot   Usage
		ledger     map[Key]Entry
		ns         string
		newUsed    string
		wantErr    string
		wantLedger string // the entry of ns after admission
	}{
		{
			name:     "ledger usage of other namespaces wins over the snapshot's",
			snapshot: usageOf(t, map[string]string{"web": "pods=1"}),
			ledger:   map[Key]Entry{{Namespace: "web"}: {Used: rl(t, "pods=9")}},
			ns:       "api",
			newUsed:  "pods=2",
			wantErr:  `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: pods=2, used: pods=9, limited: pods=10`,
		},
		{
			name:     "snapshot usage counts where the ledger has no entry",
			snapshot: usageOf(t, map[string]string{"web": "pods=9"}),
			ns:       "api",
			newUsed:  "pods=2",
			wantErr:  `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: pods=2, used: pods=9, limited: pods=10`,
		},
		{
			name:       "an earlier reservation of the same namespace is the baseline",
			ledger:     map[Key]Entry{{Namespace: "api"}: {Used: rl(t, "pods=10"), ReservedAt: t0}},
			ns:         "api",
			newUsed:    "pods=9",
			wantLedger: "pods=9",
		},
		{
			name:       "admitted usage is normalised and reserved",
			ns:         "api",
			newUsed:    "pods=3,cpu=1",
			wantLedger: "pods=3,requests.cpu=1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot(paymentsTree(), quotas, tc.snapshot)
			in := &Ledger{Root: "payments", Entries: tc.ledger}
			before := EncodeLedger(in)
			out, err := Admit(in, s, tc.ns, "", rl(t, tc.newUsed), t0)
			if diff := cmp.Diff(tc.wantErr, errString(err)); diff != "" {
				t.Errorf("Admit error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, EncodeLedger(in)); diff != "" {
				t.Errorf("Admit modified its input (-before +after):\n%s", diff)
			}
			if err != nil {
				return
			}
			e := out.Entries[Key{Namespace: tc.ns}]
			if got := String(e.Used); got != tc.wantLedger || !e.ReservedAt.Equal(t0) {
				t.Errorf("ledger entry = %q reserved at %v, want %q at %v", got, e.ReservedAt, tc.wantLedger, t0)
			}
		})
	}
}

func TestReconcile(t *testing.T) {
	const grace = time.Minute
	now := t0.Add(10 * time.Minute)
	recent, old := now.Add(-10*time.Second), now.Add(-2*time.Minute)
	api, web, batch, gone := Key{Namespace: "api"}, Key{Namespace: "web"}, Key{Namespace: "batch"}, Key{Namespace: "gone"}
	tests := []struct {
		name        string
		ledger      map[Key]Entry
		actual      Usage
		want        map[Key]Entry
		wantChanged bool
	}{
		{
			name:   "settled and equal: nothing to write",
			ledger: map[Key]Entry{api: {Used: rl(t, "pods=2")}},
			actual: Usage{api: rl(t, "pods=2")},
			want:   map[Key]Entry{api: {Used: rl(t, "pods=2")}},
		},
		{
			name:        "a reservation that became real is settled",
			ledger:      map[Key]Entry{api: {Used: rl(t, "pods=2"), ReservedAt: recent}},
			actual:      Usage{api: rl(t, "pods=2")},
			want:        map[Key]Entry{api: {Used: rl(t, "pods=2")}},
			wantChanged: true,
		},
		{
			name:   "an in-flight reservation is kept",
			ledger: map[Key]Entry{api: {Used: rl(t, "pods=3"), ReservedAt: recent}},
			actual: Usage{api: rl(t, "pods=2")},
			want:   map[Key]Entry{api: {Used: rl(t, "pods=3"), ReservedAt: recent}},
		},
		{
			name:        "an in-flight reservation takes in larger actual usage",
			ledger:      map[Key]Entry{api: {Used: rl(t, "pods=3,requests.cpu=1"), ReservedAt: recent}},
			actual:      Usage{api: rl(t, "pods=2,cpu=2")},
			want:        map[Key]Entry{api: {Used: rl(t, "pods=3,requests.cpu=2"), ReservedAt: recent}},
			wantChanged: true,
		},
		{
			name:        "a stale over-reservation shrinks to actual",
			ledger:      map[Key]Entry{api: {Used: rl(t, "pods=5"), ReservedAt: old}},
			actual:      Usage{api: rl(t, "pods=2")},
			want:        map[Key]Entry{api: {Used: rl(t, "pods=2")}},
			wantChanged: true,
		},
		{
			name:        "growth the webhook did not see is taken in",
			ledger:      map[Key]Entry{web: {Used: rl(t, "pods=1")}},
			actual:      Usage{web: rl(t, "pods=4"), batch: rl(t, "pods=1")},
			want:        map[Key]Entry{web: {Used: rl(t, "pods=4")}, batch: {Used: rl(t, "pods=1")}},
			wantChanged: true,
		},
		{
			name:        "entries without usage are dropped after their grace",
			ledger:      map[Key]Entry{gone: {Used: rl(t, "pods=1")}, api: {Used: rl(t, "pods=1"), ReservedAt: recent}},
			actual:      Usage{},
			want:        map[Key]Entry{api: {Used: rl(t, "pods=1"), ReservedAt: recent}},
			wantChanged: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := Reconcile(&Ledger{Root: "payments", Entries: tc.ledger}, tc.actual, now, grace)
			if diff := cmp.Diff(&Ledger{Root: "payments", Entries: tc.want}, got, quantityEqual); diff != "" {
				t.Errorf("Reconcile (-want +got):\n%s", diff)
			}
			if changed != tc.wantChanged {
				t.Errorf("Reconcile changed = %v, want %v", changed, tc.wantChanged)
			}
		})
	}
}
