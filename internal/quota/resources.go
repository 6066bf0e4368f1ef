package quota

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// aliases maps ResourceQuota's bare names to the requests.* names they mean.
var aliases = map[corev1.ResourceName]corev1.ResourceName{
	corev1.ResourceCPU:              corev1.ResourceRequestsCPU,
	corev1.ResourceMemory:           corev1.ResourceRequestsMemory,
	corev1.ResourceEphemeralStorage: corev1.ResourceRequestsEphemeralStorage,
}

// CanonicalName returns the name usage of r is recorded under: requests.cpu
// for cpu, requests.memory for memory, requests.ephemeral-storage for
// ephemeral-storage, and r itself otherwise.
func CanonicalName(r corev1.ResourceName) corev1.ResourceName {
	if c, ok := aliases[r]; ok {
		return c
	}
	return r
}

// Normalize returns a copy of l with every name replaced by its
// CanonicalName. When both a bare name and its requests.* name are present,
// the requests.* value wins (ResourceQuota reports them equal).
func Normalize(l corev1.ResourceList) corev1.ResourceList {
	out := make(corev1.ResourceList, len(l))
	for r, q := range l {
		c := CanonicalName(r)
		if _, seen := out[c]; seen && c != r {
			continue
		}
		out[c] = q.DeepCopy()
	}
	return out
}

// Lookup returns the usage of r in a normalised list, zero if absent.
func Lookup(normalized corev1.ResourceList, r corev1.ResourceName) resource.Quantity {
	if q, ok := normalized[CanonicalName(r)]; ok {
		return q.DeepCopy()
	}
	return resource.Quantity{}
}

// Add returns a + b over the union of their names.
func Add(a, b corev1.ResourceList) corev1.ResourceList {
	out := a.DeepCopy()
	if out == nil {
		out = corev1.ResourceList{}
	}
	addInto(out, b)
	return out
}

// addInto adds b to dst in place.
func addInto(dst, b corev1.ResourceList) {
	for r, q := range b {
		sum := dst[r]
		sum.Add(q)
		dst[r] = sum
	}
}

// Subtract returns a - b over the union of their names; results may be
// negative.
func Subtract(a, b corev1.ResourceList) corev1.ResourceList {
	out := a.DeepCopy()
	if out == nil {
		out = corev1.ResourceList{}
	}
	for r, q := range b {
		diff := out[r]
		diff.Sub(q)
		out[r] = diff
	}
	return out
}

// Max returns the larger value per name over the union of names.
func Max(a, b corev1.ResourceList) corev1.ResourceList {
	out := a.DeepCopy()
	if out == nil {
		out = corev1.ResourceList{}
	}
	for r, q := range b {
		if cur, ok := out[r]; !ok || q.Cmp(cur) > 0 {
			out[r] = q.DeepCopy()
		}
	}
	return out
}

// Mask returns the entries of l whose names appear in names.
func Mask(l corev1.ResourceList, names corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for r := range names {
		if q, ok := l[r]; ok {
			out[r] = q.DeepCopy()
		}
	}
	return out
}

// Exceeding returns, sorted, the names limit names whose value in used is
// greater than the limit. Names absent from used count as zero.
func Exceeding(used, limit corev1.ResourceList) []corev1.ResourceName {
	var out []corev1.ResourceName
	for r, l := range limit {
		u := used[r]
		if u.Cmp(l) > 0 {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// Same reports whether a and b name the same resources with equal
// quantities: unlike Equal, a hard of zero is not the same as no hard.
func Same(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for r, q := range a {
		o, ok := b[r]
		if !ok || q.Cmp(o) != 0 {
			return false
		}
	}
	return true
}

// Equal reports whether a and b hold the same quantities, treating an absent
// name as zero.
func Equal(a, b corev1.ResourceList) bool {
	for r, q := range a {
		o := b[r]
		if q.Cmp(o) != 0 {
			return false
		}
	}
	for r, q := range b {
		o := a[r]
		if q.Cmp(o) != 0 {
			return false
		}
	}
	return true
}

// String renders l canonically, sorted by name: "cpu=2,pods=3".
func String(l corev1.ResourceList) string {
	names := make([]string, 0, len(l))
	for r := range l {
		names = append(names, string(r))
	}
	slices.Sort(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		q := l[corev1.ResourceName(n)]
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(q.String())
	}
	return b.String()
}

// ParseList is the inverse of String.
func ParseList(s string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("parsing resource entry %q: want name=quantity", part)
		}
		q, err := resource.ParseQuantity(value)
		if err != nil {
			return nil, fmt.Errorf("parsing quantity of %q: %w", name, err)
		}
		out[corev1.ResourceName(name)] = q
	}
	return out, nil
}
