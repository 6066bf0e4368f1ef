package quota

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/inf.v0"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// RemainderPool names, in ExceededError.Pool and Overage.Pool, the share of a
// quota outside its allocations.
const RemainderPool = "*"

// ExceededError is a denial: a quota (or one of its pools) that the
// requested growth would break. Its lists name only the resources that do not
// fit, with the names the quota uses.
type ExceededError struct {
	Quota Quota
	// Pool is "" for the quota's whole subtree, the allocated namespace for an
	// allocation, or RemainderPool for the share outside allocations.
	Pool string
	// Requested is the growth, Used the usage of the pool before it, Limited
	// the pool's limit.
	Requested, Used, Limited corev1.ResourceList
}

// Error reads like the API server's own quota error, naming the quota.
func (e *ExceededError) Error() string {
	var b strings.Builder
	b.WriteString("exceeded quota: ")
	b.WriteString(e.Quota.Ref())
	if e.Quota.ScopeKey != "" {
		fmt.Fprintf(&b, " (scope %s)", e.Quota.ScopeKey)
	}
	switch e.Pool {
	case "":
	case RemainderPool:
		b.WriteString(", share outside allocations")
	default:
		fmt.Fprintf(&b, ", allocation for subtree %q", e.Pool)
	}
	fmt.Fprintf(&b, ", requested: %s, used: %s, limited: %s", String(e.Requested), String(e.Used), String(e.Limited))
	return b.String()
}

// Decide reports whether namespace ns may change its usage under scopeKey to
// newUsed, the namespace's new total (a batch of several objects is judged
// as one total). Every quota with that scope key on ns and its ancestors is
// checked, with each allocation on the path and each remainder share; only
// resources whose usage grows are checked. It returns nil or the first
// breach, nearest quota first, as an *ExceededError.
func Decide(s *Snapshot, ns, scopeKey string, newUsed corev1.ResourceList) error {
	return decideWithin(s, ns, scopeKey, newUsed, 1)
}

// decideWithin is Decide with every limit divided by part (1 for the
// limits themselves): the grant policy (grantFor) asks whether usage would
// stay within a fraction of every limit.
func decideWithin(s *Snapshot, ns, scopeKey string, newUsed corev1.ResourceList, part int64) error {
	delta := Subtract(Normalize(newUsed), s.usage[Key{Namespace: ns, Scope: scopeKey}])
	growing := false
	for _, d := range delta {
		if d.Sign() > 0 {
			growing = true
			break
		}
	}
	if !growing {
		return nil
	}
	path := s.ancestry(ns)
	for i, a := range path {
		for _, q := range s.quotas[a] {
			if q.ScopeKey != scopeKey {
				continue
			}
			if err := s.check(q, path[:i], delta, part); err != nil {
				return err
			}
		}
	}
	return nil
}

// check tests one quota. below is the path from the requesting namespace up
// to, not including, the quota's namespace; delta is normalised.
func (s *Snapshot) check(q *quotaView, below []string, delta corev1.ResourceList, part int64) error {
	if e := breach(q.Hard, s.total(q.Namespace, q.ScopeKey), delta, part); e != nil {
		e.Quota = q.Quota
		return e
	}
	if len(q.Allocations) == 0 {
		return nil
	}
	// Allocations on the path, outermost first.
	covered := map[corev1.ResourceName]bool{}
	for j := len(below) - 1; j >= 0; j-- {
		k := below[j]
		alloc, ok := q.Allocations[k]
		if !ok {
			continue
		}
		for r := range alloc {
			covered[r] = true
		}
		if e := breach(alloc, s.total(k, q.ScopeKey), delta, part); e != nil {
			e.Quota, e.Pool = q.Quota, k
			return e
		}
	}
	// The remainder, for the names no allocation on the path covers.
	e := &ExceededError{Quota: q.Quota, Pool: RemainderPool}
	for _, r := range sortedNames(q.restLimit) {
		if covered[r] {
			continue
		}
		d := delta[CanonicalName(r)]
		if d.Sign() <= 0 {
			continue
		}
		used, limit := q.restUsed[r], fraction(q.restLimit[r], part)
		if !fits(used, d, limit) {
			e.add(r, d, used, limit)
		}
	}
	if len(e.Limited) > 0 {
		return e
	}
	return nil
}

// breach checks a pool with the given limit, divided by part, and
// normalised usage against a normalised delta; nil if every growing name
// fits.
func breach(limit, used, delta corev1.ResourceList, part int64) *ExceededError {
	var e *ExceededError
	for _, r := range sortedNames(limit) {
		d := delta[CanonicalName(r)]
		if d.Sign() <= 0 {
			continue
		}
		u, l := Lookup(used, r), fraction(limit[r], part)
		if !fits(u, d, l) {
			if e == nil {
				e = &ExceededError{}
			}
			e.add(r, d, u, l)
		}
	}
	return e
}

// fraction is q divided by part, rounded down to a thousandth; q itself
// for part 1.
func fraction(q resource.Quantity, part int64) resource.Quantity {
	if part <= 1 {
		return q
	}
	d := new(inf.Dec).QuoRound(q.AsDec(), inf.NewDec(part, 0), 3, inf.RoundDown)
	return *resource.NewDecimalQuantity(*d, q.Format)
}

func (e *ExceededError) add(r corev1.ResourceName, requested, used, limited resource.Quantity) {
	if e.Limited == nil {
		e.Requested, e.Used, e.Limited = corev1.ResourceList{}, corev1.ResourceList{}, corev1.ResourceList{}
	}
	e.Requested[r], e.Used[r], e.Limited[r] = requested.DeepCopy(), used.DeepCopy(), limited.DeepCopy()
}

// fits reports used + delta <= limit.
func fits(used, delta, limit resource.Quantity) bool {
	sum := used.DeepCopy()
	sum.Add(delta)
	return sum.Cmp(limit) <= 0
}

// Overage is one pool of a quota whose usage is above its limit, after the
// limit was lowered or usage grew without the webhook.
type Overage struct {
	// Pool is as in ExceededError.
	Pool string
	// Used and Limited name only the resources over the limit.
	Used, Limited corev1.ResourceList
}

// String renders the overage for a condition message.
func (o Overage) String() string {
	pool := "subtree"
	switch o.Pool {
	case "":
	case RemainderPool:
		pool = "share outside allocations"
	default:
		pool = fmt.Sprintf("allocation for subtree %q", o.Pool)
	}
	return fmt.Sprintf("%s: used %s, limited %s", pool, String(o.Used), String(o.Limited))
}

// OverLimit lists the pools of q whose usage is above their limit: the whole
// subtree, each allocation whose namespace is below q's, and the remainder.
// A quota over its limit admits no increase of those resources until usage
// fits again; decreases stay admitted.
func OverLimit(s *Snapshot, q Quota) []Overage {
	v := s.view(q)
	var out []Overage
	if o := over("", v.Hard, StatusUsed(s, q)); o != nil {
		out = append(out, *o)
	}
	for _, k := range sortedKeys(q.Allocations) {
		if !s.isStrictDescendant(k, q.Namespace) {
			continue
		}
		alloc := q.Allocations[k]
		total := s.total(k, q.ScopeKey)
		used := make(corev1.ResourceList, len(alloc))
		for r := range alloc {
			used[r] = Lookup(total, r)
		}
		if o := over(k, alloc, used); o != nil {
			out = append(out, *o)
		}
	}
	if o := over(RemainderPool, v.restLimit, v.restUsed); o != nil {
		out = append(out, *o)
	}
	return out
}

// FormatOverages joins overages for a condition message.
func FormatOverages(os []Overage) string {
	parts := make([]string, 0, len(os))
	for _, o := range os {
		parts = append(parts, o.String())
	}
	return strings.Join(parts, "; ")
}

func over(pool string, limit, used corev1.ResourceList) *Overage {
	names := Exceeding(used, limit)
	if len(names) == 0 {
		return nil
	}
	o := &Overage{Pool: pool, Used: corev1.ResourceList{}, Limited: corev1.ResourceList{}}
	for _, r := range names {
		o.Used[r], o.Limited[r] = used[r].DeepCopy(), limit[r].DeepCopy()
	}
	return o
}

func sortedNames(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for r := range l {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
