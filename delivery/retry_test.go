package delivery

import (
	"net/http"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
)

// The retry policy's terminal rules and schedule, in one place.
func TestRetryPolicy_Judge(t *testing.T) {
	t.Parallel()
	p := retryPolicy{maxAttempts: 3, units: func(_, unit string) time.Duration {
		if unit == "s" {
			return time.Second
		}
		return 0
	}}
	plain := &store.Webhook{}
	own := &store.Webhook{Retry: &store.Retry{Enabled: true, Count: 1, Delay: 7, DelayUnit: "s"}}
	for _, c := range []struct {
		name     string
		w        *store.Webhook
		n        int
		res      Result
		ok       bool
		status   string
		min, max time.Duration
		disable  bool
	}{
		{"success", plain, 1, Result{Status: 200}, true, store.DeliverySucceeded, 0, 0, false},
		{"first failure", plain, 1, Result{Status: 500}, false, store.DeliveryPending, 4 * time.Second, 6 * time.Second, false},
		{"Retry-After", plain, 1, Result{Status: 503, RetryAfter: 2 * time.Second}, false, store.DeliveryPending, 2 * time.Second, 2 * time.Second, false},
		{"429 penalty", plain, 1, Result{Status: 429}, false, store.DeliveryPending, MinPenalty, MinPenalty, false},
		{"used up", plain, 3, Result{Status: 500}, false, store.DeliveryFailed, 0, 0, false},
		{"gone", plain, 1, Result{Status: http.StatusGone}, false, store.DeliveryFailed, 0, 0, true},
		{"refused", plain, 1, Result{ErrKind: "refused_target"}, false, store.DeliveryFailed, 0, 0, false},
		{"own delay in the dialect's unit", own, 1, Result{Status: 500}, false, store.DeliveryPending, 7 * time.Second, 7 * time.Second, false},
		{"own count used up", own, 2, Result{Status: 500}, false, store.DeliveryFailed, 0, 0, false},
	} {
		v := p.judge(c.w, c.n, c.res, c.ok, "")
		if v.status != c.status || v.wait < c.min || v.wait > c.max || (v.disable != "") != c.disable {
			t.Errorf("%s: %+v", c.name, v)
		}
		if !c.ok && v.lastError == "" {
			t.Errorf("%s: no last error", c.name)
		}
	}
}
