package quota

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// simKey is one namespace's singleton in the escrow simulation.
type simKey struct {
	used    int64
	version uint64
	epoch   string
}

// simFlight is an admission the webhook allowed whose status update the
// API server has not committed yet.
type simFlight struct {
	ns         string
	base       uint64
	next       int64
	fromLedger bool
}

// escrowSim drives the ledger protocol with grants through random
// interleavings: admissions decided on a stale cached ledger (the fast
// path) or on the current one, commits that fail once the singleton moved
// on, deletions, and revocations of grants a denial meets.
type escrowSim struct {
	t       *testing.T
	rng     *rand.Rand
	hard    int64
	quotas  []Quota
	keys    map[string]*simKey
	rev     uint64
	ledgers []*Ledger
	flights []simFlight
	epochs  int
}

func (s *escrowSim) ledger() *Ledger { return s.ledgers[len(s.ledgers)-1] }

func (s *escrowSim) snapshot() (*Snapshot, Versions) {
	used, vs := Usage{}, Versions{}
	for ns, k := range s.keys {
		used[Key{Namespace: ns}] = pods(k.used)
		vs[Key{Namespace: ns}] = k.version
	}
	return NewSnapshot(twoTree(), s.quotas, used), vs
}

func (s *escrowSim) write(ns string, used int64, newEpoch bool) {
	k := s.keys[ns]
	s.rev++
	k.version, k.used = s.rev, used
	if newEpoch {
		s.epochs++
		k.epoch = fmt.Sprintf("e%d", s.epochs)
	}
}

// admit is one admission of growth d in ns; it returns whether it was
// allowed (and is now in flight).
func (s *escrowSim) admit(ns string, d int64) bool {
	k := s.keys[ns]
	old, next := pods(k.used), pods(k.used+d)
	cover := Cover(twoTree(), s.quotas, ns, "")
	stale := s.ledgers[len(s.ledgers)-1-s.rng.IntN(min(len(s.ledgers), 5))]
	if Within(stale, Key{Namespace: ns}, k.epoch, cover, old, next) {
		s.flights = append(s.flights, simFlight{ns: ns, base: k.version, next: k.used + d})
		return true
	}
	r := Reservation{Namespace: ns, Base: k.version, Old: old, New: next, Epoch: k.epoch, Cover: cover}
	for range 2 {
		snap, vs := s.snapshot()
		l, err := Admit(s.ledger(), snap, vs, r)
		var exceeded *ExceededError
		if errors.As(err, &exceeded) {
			revoke := Revocable(s.ledger(), snap, vs, Key{Namespace: ns})
			if len(revoke) == 0 {
				s.checkRefusal(ns, d)
				return false
			}
			for _, rk := range revoke {
				s.revoke(rk.Namespace)
			}
			continue
		}
		if err != nil {
			s.t.Fatal(err)
		}
		if l != nil {
			s.ledgers = append(s.ledgers, l)
		}
		s.flights = append(s.flights, simFlight{ns: ns, base: k.version, next: k.used + d, fromLedger: true})
		return true
	}
	return false
}

// revoke writes ns's singleton with a new epoch, then drops its grant.
func (s *escrowSim) revoke(ns string) {
	k := s.keys[ns]
	was := k.epoch
	s.write(ns, k.used, true)
	if l := Revoke(s.ledger(), Key{Namespace: ns}, was, k.version, pods(k.used)); l != nil {
		s.ledgers = append(s.ledgers, l)
	}
}

// checkRefusal: with nothing in flight and every entry settled, a refusal
// (after revocations) means the growth does not fit what is committed.
func (s *escrowSim) checkRefusal(ns string, d int64) {
	if len(s.flights) > 0 {
		return
	}
	for key, e := range s.ledger().Entries {
		if e.Base >= s.keys[key.Namespace].version {
			return
		}
	}
	if total := s.total(); total+d <= s.hard {
		s.t.Fatalf("refused %d in %s with %d of %d committed and nothing in flight; ledger %v", d, ns, total, s.hard, EncodeLedger(s.ledger()))
	}
}

func (s *escrowSim) total() int64 {
	var sum int64
	for _, k := range s.keys {
		sum += k.used
	}
	return sum
}

// commit lands flight i if its singleton is still at its base.
func (s *escrowSim) commit(i int) {
	f := s.flights[i]
	s.flights = append(s.flights[:i], s.flights[i+1:]...)
	if s.keys[f.ns].version != f.base {
		return
	}
	s.write(f.ns, f.next, false)
	if total := s.total(); total > s.hard {
		s.t.Fatalf("usage %d over hard %d after committing %+v; ledger %v", total, s.hard, f, EncodeLedger(s.ledger()))
	}
}

func pods(n int64) map[corev1.ResourceName]resource.Quantity {
	return map[corev1.ResourceName]resource.Quantity{"pods": *resource.NewQuantity(n, resource.DecimalSI)}
}

// TestEscrowSimulation runs the protocol through thousands of random
// interleavings and checks the two promises: usage never goes over hard,
// and a refusal when nothing is in flight and nothing unsettled means the
// growth does not fit.
func TestEscrowSimulation(t *testing.T) {
	grantsGiven, fastAdmits, revocations := 0, 0, 0
	for seed := range uint64(2000) {
		rng := rand.New(rand.NewPCG(seed, 7))
		hard := []int64{8, 40, 100, 400}[seed%4]
		s := &escrowSim{t: t, rng: rng, hard: hard, quotas: []Quota{hrq("root", "q", fmt.Sprintf("pods=%d", hard), t)},
			keys: map[string]*simKey{}, ledgers: []*Ledger{emptyLedger()}}
		for _, ns := range []string{"a", "b"} {
			s.keys[ns] = &simKey{}
			s.write(ns, 0, true)
		}
		// a holds a grant it does not use: b's admissions must revoke it
		// before they may be refused.
		if s.admit("a", 1) {
			s.commit(0)
			s.write("a", 0, false)
		}
		for range 300 {
			switch op := rng.IntN(10); {
			case op < 5:
				// Mostly b, so that b fills the tree beside a's grants.
				ns := "b"
				if rng.IntN(5) == 0 {
					ns = "a"
				}
				before := len(s.ledgers)
				if s.admit(ns, 1+rng.Int64N(3)) && len(s.ledgers) == before {
					fastAdmits++
				}
			case op < 8 && len(s.flights) > 0:
				s.commit(rng.IntN(len(s.flights)))
			case op < 9:
				ns := []string{"a", "b"}[rng.IntN(2)]
				if k := s.keys[ns]; k.used > 0 {
					s.write(ns, k.used-1-rng.Int64N(min(k.used, 3)), false)
				}
			default:
				for len(s.flights) > 0 {
					s.commit(0)
				}
				// The leader settles what never committed.
				for key, e := range s.ledger().Entries {
					if k := s.keys[key.Namespace]; e.Base >= k.version {
						s.write(key.Namespace, k.used, false)
					}
				}
			}
		}
		grantsGiven += len(s.ledger().Grants)
		revocations += s.epochs - 2
	}
	t.Logf("grants standing at the end: %d, admissions without a ledger write: %d, revocations: %d", grantsGiven, fastAdmits, revocations)
	if fastAdmits == 0 || revocations == 0 {
		t.Fatalf("the simulation never used a grant (%d) or never revoked one (%d)", fastAdmits, revocations)
	}
}
