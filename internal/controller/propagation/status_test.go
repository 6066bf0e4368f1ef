package propagation

import (
	"context"
	"errors"
	"testing"
)

// Until a type's informer has delivered its initial list (and the forest
// has loaded), the forest holds only some of its sources: a status
// counted then is wrong, and writing it makes every restart write
// HNCConfiguration twice (the partial count, then the full one).
func TestStatusWaitsForTheInitialList(t *testing.T) {
	_, s := handlerFixture(t)
	if _, err := s.status(context.Background()); !errors.Is(err, ErrNotSynced) {
		t.Fatalf("status before the initial list: %v, want ErrNotSynced", err)
	}
}
