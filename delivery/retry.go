package delivery

import (
	"math/rand/v2"
	"time"

	"github.com/polyhook/polyhook/store"
)

// Retry schedule. After the n-th failed attempt the next one waits
// RetryBase * RetryFactor^(n-1), at most RetryCap, with ±20% jitter:
//
//	attempt:  2    3    4    5      6      7       8+
//	after:    5s   15s  45s  2m15s  6m45s  20m15s  1h (each)
//
// With the default 12 attempts a delivery is given up about 5 h 30 m after it was first
// tried. A Retry-After header is honoured between 1 s and 1 h; after a 429 or a timeout
// the wait is at least MinPenalty. A webhook's own retry setting (store.Retry, which its
// dialect writes) replaces the schedule with its fixed delay and count.
const (
	RetryBase   = 5 * time.Second
	RetryFactor = 3
	RetryCap    = time.Hour
	MinPenalty  = 30 * time.Second
)

// RetryDelay is the schedule's wait after the n-th failed attempt, before jitter.
func RetryDelay(n int) time.Duration {
	d := RetryBase
	for i := 1; i < n && d < RetryCap; i++ {
		d *= RetryFactor
	}
	return min(d, RetryCap)
}

func (e *Engine) maxAttempts(w *store.Webhook) int {
	if r := w.Retry; r != nil {
		if !r.Enabled {
			return 1
		}
		return 1 + max(r.Count, 0)
	}
	return e.cfg.MaxAttempts
}

func (e *Engine) retryDelay(w *store.Webhook, n int, res Result) time.Duration {
	d := jitter(RetryDelay(n))
	if r := w.Retry; r != nil && r.Enabled {
		d = time.Duration(max(r.Delay, 1)) * e.retryUnit(w.Dialect, r.DelayUnit)
	}
	if res.RetryAfter > 0 {
		d = min(max(res.RetryAfter, time.Second), time.Hour)
	}
	if res.Status == 429 || res.ErrKind == "timeout" {
		d = max(d, MinPenalty)
	}
	return d
}

// retryUnit is one unit of a webhook's own retry delay, in its dialect's vocabulary
// (RetryUnits); a minute when the dialect has none or does not know the unit.
func (e *Engine) retryUnit(dialect, unit string) time.Duration {
	if ru, ok := e.encoders[dialect].(RetryUnits); ok {
		if d := ru.RetryUnit(unit); d > 0 {
			return d
		}
	}
	return time.Minute
}

// jitter spreads d by ±20% so that retries of many deliveries do not arrive together.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
