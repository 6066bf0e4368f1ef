package quota

import (
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/canopyhq/canopy/internal/quota"
)

// AnnotationReleasedUnder marks a singleton version written by a release
// made under a batch of creations the API server may have refused some of
// (see the status webhook's "Releasing under a batch that refused"). Its
// value is a ReleasedUnder in JSON. It is on the singleton itself, not in
// one replica's memory, because the batch's retry may reach either
// replica: the leader releases, the other may judge the retry.
const AnnotationReleasedUnder = "canopy.dev/released-under-batch"

// ReleasedRetryWindow bounds how long after a release a batch's retry is
// looked for.
const ReleasedRetryWindow = 2 * time.Second

// ReleasedUnder is what a release records of the attempt it denied.
type ReleasedUnder struct {
	// Base is the singleton version the denied attempt was made at.
	Base uint64 `json:"base,string"`
	// Grew is what the denied attempt charged.
	Grew corev1.ResourceList `json:"grew"`
	// Used is what the release left charged (filled in by the release).
	Used corev1.ResourceList `json:"used"`
	// At is when the attempt was denied.
	At time.Time `json:"at"`
}

// ReleaseMark asks a release to mark one singleton, the one the denied
// attempt was made on, with Under.
type ReleaseMark struct {
	Key   types.NamespacedName
	Under ReleasedUnder
}

// MarkRelease sets, on rq which a release is about to write with used at
// now, the annotation mark asks for if mark names rq. Otherwise it keeps a
// mark an earlier release left within ReleasedRetryWindow: this release
// too lands between that batch's attempts, and lowering usage further only
// makes more room for the creations the API server refused. An older mark
// is dropped.
func MarkRelease(rq *corev1.ResourceQuota, used corev1.ResourceList, mark *ReleaseMark, now time.Time) {
	if mark == nil || mark.Key != (types.NamespacedName{Namespace: rq.Namespace, Name: rq.Name}) {
		if u, ok := releasedUnder(rq.Annotations); !ok || now.Sub(u.At) > ReleasedRetryWindow {
			delete(rq.Annotations, AnnotationReleasedUnder)
		}
		return
	}
	u := mark.Under
	u.Used = used
	raw, err := json.Marshal(u)
	if err != nil {
		return
	}
	if rq.Annotations == nil {
		rq.Annotations = map[string]string{}
	}
	rq.Annotations[AnnotationReleasedUnder] = string(raw)
}

// releasedUnder reads a singleton's mark.
func releasedUnder(annotations map[string]string) (ReleasedUnder, bool) {
	var u ReleasedUnder
	raw, ok := annotations[AnnotationReleasedUnder]
	return u, ok && json.Unmarshal([]byte(raw), &u) == nil
}

// ReleasedRetryExcess returns, for an attempt on a singleton from prev
// (its version, annotations and usage) that charges grew, what the attempt
// a release denied charged, when this attempt is that batch's retry and
// charges more on some name: prev carries the release's mark, is a later
// version than the denied attempt's, nothing has been charged since the
// release (prev's usage is at most what the release left; a later
// release or recount may have lowered it further), and the release is at
// most ReleasedRetryWindow old. Nil otherwise.
func ReleasedRetryExcess(prevRV string, annotations map[string]string, prevUsed, grew corev1.ResourceList, now time.Time) corev1.ResourceList {
	u, ok := releasedUnder(annotations)
	if !ok || quota.ParseRV(prevRV) <= u.Base ||
		now.Sub(u.At) > ReleasedRetryWindow || quota.Grows(u.Used, prevUsed) {
		return nil
	}
	for name, q := range grew {
		if had := u.Grew[name]; q.Cmp(had) > 0 {
			return u.Grew
		}
	}
	return nil
}
