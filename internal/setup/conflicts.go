package setup

import (
	"errors"
	"fmt"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/canopyhq/canopy/internal/metrics"
)

// QuietConflicts wraps the manager's logger so that every controller's
// "Reconciler error" for a routine optimistic-lock conflict (another writer
// changed the object between our read and our write, or created the object
// we were creating: AlreadyExists) is logged at V(1)
// without a stack trace instead of at error level, and counted in
// canopy_conflicts_total{controller,kind}. The reconcile is still retried:
// controller-runtime requeues the request with backoff as for any error.
// Every controller built on the manager gets it, with no change to the
// controllers.
func QuietConflicts(l logr.Logger) logr.Logger {
	if l.GetSink() == nil {
		return l
	}
	return logr.New(quietSink{LogSink: l.GetSink()})
}

// quietSink is the LogSink behind QuietConflicts. It remembers the
// "controller" value the builder attaches to each controller's logger.
type quietSink struct {
	logr.LogSink
	controller string
}

// Init tells the wrapped sink about the one frame this wrapper adds to
// every call, so logged callers stay right.
func (s quietSink) Init(info logr.RuntimeInfo) {
	info.CallDepth++
	s.LogSink.Init(info)
}

// Info is passed through (explicitly, so that every call goes through
// exactly one frame of this wrapper).
func (s quietSink) Info(level int, msg string, kv ...any) {
	s.LogSink.Info(level, msg, kv...)
}

func (s quietSink) WithValues(kv ...any) logr.LogSink {
	c := s.controller
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok && k == "controller" {
			c = fmt.Sprint(kv[i+1])
		}
	}
	return quietSink{LogSink: s.LogSink.WithValues(kv...), controller: c}
}

func (s quietSink) WithName(name string) logr.LogSink {
	return quietSink{LogSink: s.LogSink.WithName(name), controller: s.controller}
}

func (s quietSink) Error(err error, msg string, kv ...any) {
	if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
		s.LogSink.Error(err, msg, kv...)
		return
	}
	controller := s.controller
	if controller == "" {
		controller = "unknown"
	}
	metrics.Conflict(controller, conflictKind(err))
	if s.LogSink.Enabled(1) {
		s.LogSink.Info(1, msg+": conflict, retrying", append(kv, "reason", err.Error())...)
	}
}

// WithCallDepth keeps the caller's line right when the wrapped sink
// reports it.
func (s quietSink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.LogSink.(logr.CallDepthLogSink); ok {
		return quietSink{LogSink: cd.WithCallDepth(depth), controller: s.controller}
	}
	return s
}

// conflictKind is the resource a conflict was on, as the API server names
// it (hierarchicalresourcequotas.hnc.x-k8s.io), a bounded label.
func conflictKind(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		if d := st.Status().Details; d != nil && d.Kind != "" {
			if d.Group != "" {
				return d.Kind + "." + d.Group
			}
			return d.Kind
		}
	}
	return "unknown"
}
