package quota

import (
	"context"
	"errors"
	"testing"
)

func TestQuietWhenStopping(t *testing.T) {
	failed := errors.New("reading quota ledger: context canceled")
	if err := quietWhenStopping(context.Background(), failed); !errors.Is(err, failed) {
		t.Errorf("a failure while running: %v, want it returned", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := quietWhenStopping(ctx, failed); err != nil {
		t.Errorf("a failure once stopping: %v, want nil", err)
	}
	if err := quietWhenStopping(ctx, nil); err != nil {
		t.Errorf("no failure: %v, want nil", err)
	}
}
