package quota

import (
	"fmt"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// benchTree builds a tree of n namespaces with fan-out 10 under "ns0", a
// quota with two allocations on every namespace that has children, usage in
// every namespace, and returns it with the deepest namespace.
func benchTree(b *testing.B, n int) (*Snapshot, string) {
	tree := Tree{"ns0": ""}
	usage := Usage{{Namespace: "ns0"}: rl(b, "pods=1,requests.cpu=100m")}
	var quotas []Quota
	for i := 1; i < n; i++ {
		tree["ns"+strconv.Itoa(i)] = "ns" + strconv.Itoa((i-1)/10)
		usage[Key{Namespace: "ns" + strconv.Itoa(i)}] = rl(b, "pods=1,requests.cpu=100m")
	}
	for i := 0; i*10+1 < n; i++ {
		quotas = append(quotas, Quota{
			Kind: KindHierarchicalQuota, Namespace: "ns" + strconv.Itoa(i), Name: "q",
			Hard: rl(b, fmt.Sprintf("pods=%d,cpu=%d", 10*n, 10*n)),
			Allocations: map[string]corev1.ResourceList{
				"ns" + strconv.Itoa(i*10+1): rl(b, fmt.Sprintf("cpu=%d", n)),
				"ns" + strconv.Itoa(i*10+2): rl(b, fmt.Sprintf("cpu=%d", n)),
			},
		})
	}
	return NewSnapshot(tree, quotas, usage), "ns" + strconv.Itoa(n-1)
}

func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		s, leaf := benchTree(b, n)
		grow := rl(b, "pods=2,requests.cpu=200m")
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := Decide(s, leaf, "", grow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAdmit(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		s, leaf := benchTree(b, n)
		// Every namespace has a settled entry: the informer is past it.
		l := &Ledger{Root: "ns0", Entries: map[Key]Entry{}}
		vs := Versions{}
		for k, u := range s.usage {
			l.Entries[k] = Entry{Used: u, Base: 10}
			vs[k] = 11
		}
		req := Reservation{Namespace: leaf, Base: 11, Old: s.usage[Key{Namespace: leaf}], New: rl(b, "pods=2,requests.cpu=200m")}
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Admit(l, s, vs, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNewSnapshot(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		s, _ := benchTree(b, n)
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			for b.Loop() {
				s.WithUsage(s.usage)
			}
		})
	}
}
