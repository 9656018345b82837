package delivery

import (
	"sync"
	"time"
)

// Breakers. An endpoint whose last breakerTrips attempts all failed is open: no attempt
// is made to it for a pause, and its new deliveries are stored due at the pause's end,
// with no attempt and no job. When the pause is over one attempt goes first (the probe):
// if it succeeds the endpoint is closed and its backlog is sent, as fast as the poll for
// due deliveries claims it; if it fails, the endpoint opens again for twice as long, up
// to breakerMaxPause. A failing endpoint thus costs one attempt per pause instead of one
// per delivery and retry, and a delivery does not spend its attempts while its endpoint
// is down. Breakers are per process.

const (
	breakerTrips    = 5
	breakerPause    = time.Second
	breakerMaxPause = 30 * time.Second
)

type breakers struct {
	clock Clock
	mu    sync.Mutex
	m     map[string]*breaker
}

type breaker struct {
	fails int
	// pause is the current pause; until is when it ends (zero while closed); probing is
	// set while the probe is out.
	pause   time.Duration
	until   time.Time
	probing bool
	probeAt time.Time
	// prober is the delivery the probe was given to.
	prober string
}

// probeLimit is how long a probe may be out before another is given: a probe whose claim
// made no attempt (its webhook was disabled, say) must not keep the endpoint open.
const probeLimit = maxAttemptTime + breakerMaxPause

func newBreakers(clock Clock) *breakers { return &breakers{clock: clock, m: map[string]*breaker{}} }

// wait returns how long an attempt of deliveryID to webhookID must wait, 0 when it may
// go now. The first delivery to ask after a pause is given the probe.
func (b *breakers) wait(webhookID, deliveryID string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.m[webhookID]
	if k == nil || k.until.IsZero() {
		return 0
	}
	if left := k.until.Sub(b.clock.Now()); left > 0 {
		return left
	}
	if k.probing && k.prober == deliveryID {
		return 0
	}
	if k.probing && b.clock.Now().Sub(k.probeAt) < probeLimit {
		return k.pause
	}
	k.probing, k.probeAt, k.prober = true, b.clock.Now(), deliveryID
	return 0
}

// paused reports whether webhookID's breaker is open.
func (b *breakers) paused(webhookID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.m[webhookID]
	return k != nil && !k.until.IsZero()
}

// open returns the webhooks no attempt may go to now: paused, or waiting for their probe.
func (b *breakers) open() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	now := b.clock.Now()
	for id, k := range b.m {
		if !k.until.IsZero() && (k.probing || now.Before(k.until)) {
			ids = append(ids, id)
		}
	}
	return ids
}

// turn is what an attempt's outcome changed about its endpoint, for the log.
type turn int

const (
	unchanged  turn = iota
	nowFailing      // the first failure since a success (or since this process started)
	nowOpen         // the breaker opened
	reopened        // its probe failed: open again, for longer
	nowHealthy      // a success after failures
	nowClosed       // a success after failures that had opened the breaker
)

// record counts an attempt's outcome and says what it changed.
func (b *breakers) record(webhookID string, ok bool) turn {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.m[webhookID]
	if ok {
		delete(b.m, webhookID)
		switch {
		case k == nil:
			return unchanged
		case !k.until.IsZero():
			return nowClosed
		}
		return nowHealthy
	}
	if k == nil {
		k = &breaker{}
		b.m[webhookID] = k
	}
	k.fails++
	t := unchanged
	switch {
	case k.probing:
		k.probing = false
		k.pause = min(2*k.pause, breakerMaxPause)
		t = reopened
	case k.until.IsZero() && k.fails >= breakerTrips:
		k.pause = breakerPause
		t = nowOpen
	case k.fails == 1:
		return nowFailing
	default:
		return unchanged // closed and not yet tripped, or an attempt made before it opened
	}
	k.until = b.clock.Now().Add(k.pause)
	return t
}

// forget drops a webhook's breaker (it was deleted).
func (b *breakers) forget(webhookID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, webhookID)
}
