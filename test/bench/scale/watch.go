package scale

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// watchEvents calls fn with every event of a watch that starts at the
// current resource version (read by list) and resumes where it broke off,
// until ctx ends. It returns once the watch has started.
func watchEvents(ctx context.Context, w func(context.Context, metav1.ListOptions) (watch.Interface, error),
	list func(context.Context) (string, error), fn func(watch.Event)) error {
	rv, err := list(ctx)
	if err != nil {
		return err
	}
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, rv, &cache.ListWatch{WatchFuncWithContext: w})
	if err != nil {
		return err
	}
	go func() {
		defer rw.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-rw.ResultChan():
				if !ok {
					return
				}
				fn(ev)
			}
		}
	}()
	return nil
}
