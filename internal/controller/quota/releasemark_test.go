package quota

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// A release marks the singleton the denied attempt was made on with what
// it charged and what the release left. A later release within the
// window (of another singleton's attempt, or the leader's delayed look)
// keeps the mark, and the retry it leaves more room is still told; once
// the window has passed, the next release drops it.
func TestMarkRelease(t *testing.T) {
	at := time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC)
	mark := &ReleaseMark{Key: types.NamespacedName{Namespace: "a", Name: "s"},
		Under: ReleasedUnder{Base: 7, Grew: list("pods", "12"), At: at}}
	rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s"}}
	MarkRelease(rq, list("pods", "87"), mark, at)
	raw := rq.Annotations[AnnotationReleasedUnder]
	if raw == "" {
		t.Fatal("the released singleton carries no mark")
	}
	// The mark is what ReleasedRetryExcess reads back: a retry at a later
	// version charging 13 from 87 is charging one creation more.
	if got := ReleasedRetryExcess("8", rq.Annotations, list("pods", "87"), list("pods", "13"), at.Add(time.Second)); str(got) != "pods=12" {
		t.Errorf("excess read from the mark %s = %q, want pods=12", raw, str(got))
	}
	other := &ReleaseMark{Key: types.NamespacedName{Namespace: "a", Name: "other"}, Under: mark.Under}
	MarkRelease(rq, list("pods", "86"), other, at.Add(time.Second))
	MarkRelease(rq, list("pods", "85"), nil, at.Add(time.Second))
	if rq.Annotations[AnnotationReleasedUnder] != raw {
		t.Fatalf("a later release within the window changed the mark to %q, want it kept", rq.Annotations[AnnotationReleasedUnder])
	}
	if got := ReleasedRetryExcess("9", rq.Annotations, list("pods", "85"), list("pods", "15"), at.Add(time.Second)); str(got) != "pods=12" {
		t.Errorf("retry from the further lowered 85 charging 15: excess = %q, want pods=12", str(got))
	}
	MarkRelease(rq, list("pods", "84"), nil, at.Add(ReleasedRetryWindow+time.Millisecond))
	if _, ok := rq.Annotations[AnnotationReleasedUnder]; ok {
		t.Error("a release after the window kept the expired mark")
	}
}

func TestReleasedRetryExcess(t *testing.T) {
	at := time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC)
	rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s"}}
	MarkRelease(rq, list("pods", "87", "cpu", "2"), &ReleaseMark{Key: types.NamespacedName{Namespace: "a", Name: "s"},
		Under: ReleasedUnder{Base: 7, Grew: list("pods", "12", "cpu", "1"), At: at}}, at)
	for _, c := range []struct {
		name       string
		rv         string
		used, grew corev1.ResourceList
		after      time.Duration
		want       string
	}{
		{"the retry charging one pod more", "8", list("pods", "87", "cpu", "2"), list("pods", "13", "cpu", "1"), time.Second, "cpu=1,pods=12"},
		{"the retry charging more cpu", "9", list("pods", "87", "cpu", "2"), list("pods", "12", "cpu", "1500m"), time.Second, "cpu=1,pods=12"},
		{"the retry charging what the attempt did", "8", list("pods", "87", "cpu", "2"), list("pods", "12", "cpu", "1"), time.Second, ""},
		{"a recount since lowered usage further", "9", list("pods", "86", "cpu", "2"), list("pods", "14", "cpu", "1"), time.Second, "cpu=1,pods=12"},
		{"usage was charged since the release", "9", list("pods", "99", "cpu", "3"), list("pods", "13"), time.Second, ""},
		{"the denied attempt's own version", "7", list("pods", "87", "cpu", "2"), list("pods", "13"), time.Second, ""},
		{"after the window", "8", list("pods", "87", "cpu", "2"), list("pods", "13"), ReleasedRetryWindow + time.Millisecond, ""},
	} {
		got := ReleasedRetryExcess(c.rv, rq.Annotations, c.used, c.grew, at.Add(c.after))
		if s := str(got); s != c.want {
			t.Errorf("%s: excess = %q, want %q", c.name, s, c.want)
		}
	}
	if got := ReleasedRetryExcess("8", nil, list("pods", "87"), list("pods", "13"), at); got != nil {
		t.Errorf("unmarked singleton: excess = %s, want none", str(got))
	}
	if got := ReleasedRetryExcess("8", map[string]string{AnnotationReleasedUnder: "{"}, list("pods", "87"), list("pods", "13"), at); got != nil {
		t.Errorf("unreadable mark: excess = %s, want none", str(got))
	}
}
