package delivery

import (
	"fmt"
	"math/rand/v2"
	"net/http"
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

// retryPolicy is the retry policy, one object: its terminal rules (success, an address
// the SSRF policy refuses, 410 Gone, the attempts used up) and its schedule (above, or a
// webhook's own setting counted in its dialect's units; Retry-After; the penalty after a
// 429 or a timeout). The pipeline asks it after every attempt (conclude).
type retryPolicy struct {
	maxAttempts int
	// units returns one unit of a webhook's own retry delay in its dialect's vocabulary
	// (RetryUnits), zero when the dialect has none or does not know it.
	units func(dialect, unit string) time.Duration
}

// verdict is the policy's judgement of an attempt.
type verdict struct {
	// status is the delivery's new status; pending means another attempt after wait.
	status    string
	wait      time.Duration
	lastError string
	// disable, when not empty, is why the webhook must be taken out of delivery.
	disable string
}

// judge decides what becomes of a delivery after its n-th attempt to w, which answered
// res (ok when it succeeded; attemptErr is the attempt's own error text).
func (p *retryPolicy) judge(w *store.Webhook, n int, res Result, ok bool, attemptErr string) verdict {
	v := verdict{status: store.DeliveryFailed, lastError: attemptErr}
	switch {
	case ok:
		return verdict{status: store.DeliverySucceeded}
	case res.ErrKind == "refused_target":
		// The policy will refuse the address again: retrying only delays the news.
		v.lastError = "Refused by the SSRF guard: " + attemptErr
	case res.Status == http.StatusGone:
		v.lastError = "The endpoint answered 410 Gone; it is disabled."
		v.disable = "The endpoint answered 410 Gone."
	case n >= p.attempts(w):
	default:
		v.status, v.wait = store.DeliveryPending, p.delay(w, n, res)
	}
	if v.lastError == "" && res.Status != 0 {
		v.lastError = fmt.Sprintf("The endpoint answered %d.", res.Status)
	}
	return v
}

// attempts is how many attempts a delivery to w gets.
func (p *retryPolicy) attempts(w *store.Webhook) int {
	if r := w.Retry; r != nil {
		if !r.Enabled {
			return 1
		}
		return 1 + max(r.Count, 0)
	}
	return p.maxAttempts
}

// delay is the wait after the n-th failed attempt to w, which answered res.
func (p *retryPolicy) delay(w *store.Webhook, n int, res Result) time.Duration {
	d := jitter(RetryDelay(n))
	if r := w.Retry; r != nil && r.Enabled {
		unit := time.Minute
		if u := p.units(w.Dialect, r.DelayUnit); u > 0 {
			unit = u
		}
		d = time.Duration(max(r.Delay, 1)) * unit
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
// (RetryUnits); zero when the dialect has none or does not know the unit.
func (e *Engine) retryUnit(dialect, unit string) time.Duration {
	if ru, ok := e.encoders[dialect].(RetryUnits); ok {
		return ru.RetryUnit(unit)
	}
	return 0
}

// jitter spreads d by ±20% so that retries of many deliveries do not arrive together.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
