package delivery

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Endpoint slots. Each webhook has PerEndpoint places for attempts in flight, so that a
// slow or hanging endpoint never delays the others. An attempt takes a place or, when
// they are all taken, is parked: it waits in memory, holding no worker, until a place is
// released, which passes straight to the first parked claim. Parking is bounded by
// memory (ParkMemory); beyond it, a claim is handed back, due when its endpoint may be
// free.

// slotPatience is how old the oldest attempt in flight of a full endpoint must be for
// the endpoint to count as stuck rather than busy answering.
const slotPatience = 250 * time.Millisecond

// slot is one webhook's place held by one attempt: id is its identity, since when the
// attempt started (its age tells a stuck endpoint from a busy one).
type slot struct {
	id    uint64
	since time.Time
}

func (s slot) held() bool { return s.id != 0 }

// endpoints holds every webhook's places and parked claims.
type endpoints struct {
	perEndpoint int
	budget      int64 // ParkMemory
	clock       Clock
	// handBack takes the claims still parked when the endpoints stop (the scheduler hands
	// them back, due).
	handBack func([]*claim)

	mu       sync.Mutex
	seq      uint64
	inflight map[string][]slot
	// parked are the claims waiting for a place of their webhook, first come first, and
	// parkedBytes what they are counted to hold (parkCost).
	parked      map[string][]*claim
	parkedCount int
	parkedBytes int64
}

func newEndpoints(perEndpoint int, budget int64, clock Clock) *endpoints {
	return &endpoints{perEndpoint: perEndpoint, budget: budget, clock: clock,
		inflight: map[string][]slot{}, parked: map[string][]*claim{}}
}

func (p *endpoints) start(context.Context) error { return nil }

// stop hands back the claims still parked: the workers have stopped, and no place will
// pass to them any more.
func (p *endpoints) stop(context.Context) error {
	if cls := p.unpark(); len(cls) > 0 && p.handBack != nil {
		p.handBack(cls)
	}
	return nil
}

// parkCost is the memory a parked claim is counted to hold: 2 KiB for the claim, its
// delivery and its webhook (about 1.5 KiB measured with the benchmark's webhooks), and
// its event's data (counted for every claim of an event, though they share it).
func parkCost(cl *claim) int64 { return 2<<10 + int64(len(cl.ev.Data)) }

// busy reads a webhook's places (p.mu held): full when none is free, and wait when the
// endpoint is stuck besides (its oldest attempt in flight is older than slotPatience):
// how long an attempt should wait for it, twice that age, between 1 and 30 seconds. A
// slow endpoint's backlog comes back soon; a hanging one's backs off.
func (p *endpoints) busy(inflight []slot, now time.Time) (full bool, wait time.Duration) {
	if len(inflight) < p.perEndpoint {
		return false, 0
	}
	o := inflight[0].since
	for _, s := range inflight {
		if s.since.Before(o) {
			o = s.since
		}
	}
	if age := now.Sub(o); age > slotPatience {
		return true, min(max(2*age, time.Second), 30*time.Second)
	}
	return true, 0
}

func (p *endpoints) grant(webhookID string, now time.Time) slot {
	p.seq++
	s := slot{id: p.seq, since: now}
	p.inflight[webhookID] = append(p.inflight[webhookID], s)
	return s
}

// take gives cl one of its webhook's places. When they are all taken it parks cl, or,
// when the memory for parked claims is used up, returns how long cl should wait, due,
// before it is tried again.
func (p *endpoints) take(cl *claim) (s slot, wait time.Duration, parked bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	id := cl.d.WebhookID
	full, wait := p.busy(p.inflight[id], now)
	if !full {
		return p.grant(id, now), 0, false
	}
	cost := parkCost(cl)
	if p.parkedBytes+cost > p.budget {
		return slot{}, max(wait, time.Second), false
	}
	cl.parked, cl.waited = true, true
	p.parked[id] = append(p.parked[id], cl)
	p.parkedCount++
	p.parkedBytes += cost
	return slot{}, 0, true
}

// admit reports whether a new delivery to webhookID may be claimed: not when its
// endpoint is stuck and the memory for parked claims is used up; it should then wait,
// due, for wait.
func (p *endpoints) admit(webhookID string) (wait time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, wait = p.busy(p.inflight[webhookID], p.clock.Now())
	if wait > 0 && p.parkedBytes >= p.budget {
		return wait, false
	}
	return 0, true
}

// stuck returns how long a queued delivery to a stuck endpoint should wait (see busy),
// 0 when the endpoint is not stuck.
func (p *endpoints) stuck(webhookID string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, wait := p.busy(p.inflight[webhookID], p.clock.Now())
	return wait
}

// restamp restarts a place's age: the endpoint answers for its time from the send on,
// not for the time the claim waited for a worker.
func (p *endpoints) restamp(webhookID string, s slot) slot {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := p.inflight[webhookID]
	for i := range in {
		if in[i].id == s.id {
			in[i].since = p.clock.Now()
			return in[i]
		}
	}
	return s
}

// release gives a webhook's place back or, when a claim is parked waiting for one,
// passes it on to the first such claim and returns it (its slot then holds the place).
func (p *endpoints) release(webhookID string, s slot) (next *claim) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := p.inflight[webhookID]
	if i := slices.IndexFunc(in, func(t slot) bool { return t.id == s.id }); i >= 0 {
		in = slices.Delete(in, i, i+1)
	}
	if len(in) == 0 {
		delete(p.inflight, webhookID)
	} else {
		p.inflight[webhookID] = in
	}
	if q := p.parked[webhookID]; len(q) > 0 {
		next = q[0]
		p.drop(next)
		next.slot = p.grant(webhookID, p.clock.Now())
	}
	return next
}

// load returns how many claims are parked and the memory they are counted to hold.
func (p *endpoints) load() (int, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parkedCount, p.parkedBytes
}

// unpark takes every parked claim.
func (p *endpoints) unpark() []*claim {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*claim
	for id, q := range p.parked {
		for _, cl := range q {
			cl.parked = false
			out = append(out, cl)
		}
		delete(p.parked, id)
	}
	p.parkedCount, p.parkedBytes = 0, 0
	return out
}

// due returns the parked claims whose claims end before a time.
func (p *endpoints) due(before time.Time) []*claim {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*claim
	for _, q := range p.parked {
		for _, cl := range q {
			if cl.until.Before(before) {
				out = append(out, cl)
			}
		}
	}
	return out
}

// renewed applies a renewal of parked claims: those renewed end at until now, and those
// whose claim was lost (the sweep released it) leave the parked claims: they are due, and
// the poll owns them. Claims that got a place meanwhile keep their old end, which bounds their attempt.
func (p *endpoints) renewed(cls []*claim, renewed map[string]bool, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cl := range cls {
		switch {
		case !cl.parked:
		case renewed[cl.d.ID]:
			cl.until = until
		default:
			p.drop(cl)
		}
	}
}

// drop takes a claim out of the parked claims (p.mu held).
func (p *endpoints) drop(cl *claim) {
	id := cl.d.WebhookID
	q := p.parked[id]
	switch i := slices.Index(q, cl); {
	case i == 0: // the usual case, a place passed on: no copy of the rest
		q = q[1:]
	case i > 0:
		q = slices.Delete(q, i, i+1)
	default:
		return
	}
	if len(q) == 0 {
		delete(p.parked, id)
	} else {
		p.parked[id] = q
	}
	cl.parked = false
	p.parkedCount--
	p.parkedBytes -= parkCost(cl)
}
