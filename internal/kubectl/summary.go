package kubectl

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// quotaSummary renders hard and used as HNC's hrq view does: "name:
// used/hard" pairs sorted by resource name, limits.* in limits and
// everything else in requests. A resource with no usage shows 0.
func quotaSummary(hard, used corev1.ResourceList) (requests, limits string) {
	names := make([]corev1.ResourceName, 0, len(hard))
	for n := range hard {
		names = append(names, n)
	}
	slices.Sort(names)
	var req, lim []string
	for _, n := range names {
		h, u := hard[n], used[n]
		pair := fmt.Sprintf("%s: %s/%s", n, u.String(), h.String())
		if strings.HasPrefix(string(n), "limits.") {
			lim = append(lim, pair)
		} else {
			req = append(req, pair)
		}
	}
	return strings.Join(req, ", "), strings.Join(lim, ", ")
}
