package costapi

import (
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// MaxWindowDays bounds a chargeback's window: OpenCost is asked for one
// step per day, and a year and a month covers any month-over-month or
// yearly report.
const MaxWindowDays = 400

// MaxWindow is MaxWindowDays as a duration.
const MaxWindow = MaxWindowDays * 24 * time.Hour

// Defaults of the concurrency limits, per replica: each chargeback holds
// its roll-up and its encoded answer in memory (see the package
// documentation for the bound), so the limits bound the memory all
// chargebacks together may take.
const (
	DefaultMaxConcurrent        = 4
	DefaultMaxConcurrentPerUser = 2
)

// retryAfterSeconds is what a refused caller is told to wait.
const retryAfterSeconds = 5

// limiter admits at most total chargebacks at once, and at most perUser of
// one user's.
type limiter struct {
	mu       sync.Mutex
	total    int
	perUser  int
	inFlight int
	byUser   map[string]int
}

func newLimiter(total, perUser int) *limiter {
	if total <= 0 {
		total = DefaultMaxConcurrent
	}
	if perUser <= 0 {
		perUser = DefaultMaxConcurrentPerUser
	}
	return &limiter{total: total, perUser: perUser, byUser: map[string]int{}}
}

// acquire admits one of user's chargebacks, or returns the 429 to answer.
// Call release once the chargeback is done.
func (l *limiter) acquire(user string) (release func(), refused *apierrors.StatusError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.byUser[user] >= l.perUser:
		return nil, apierrors.NewTooManyRequests(fmt.Sprintf(
			"user %q already has %d chargebacks in progress, the most one user may run at once; retry when one finishes", user, l.perUser), retryAfterSeconds)
	case l.inFlight >= l.total:
		return nil, apierrors.NewTooManyRequests(fmt.Sprintf(
			"%d chargebacks are in progress, the most this server runs at once; retry shortly", l.total), retryAfterSeconds)
	}
	l.inFlight++
	l.byUser[user]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.inFlight--
			if l.byUser[user]--; l.byUser[user] <= 0 {
				delete(l.byUser, user)
			}
		})
	}, nil
}
