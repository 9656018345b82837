package delivery

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/polyhook/polyhook/store"
)

// The attempt pipeline. Every attempt, a first one, a parked one or a retry, is a claim
// that a worker runs through the same steps:
//
//  1. a place of its webhook (slots.go), or parked until one is free;
//  2. prepare: the webhook as it is now (webhooks.go): deleted, the delivery is
//     cancelled; disabled (by its owner or by the gateway) or paused, the delivery is
//     held, unattempted, until the webhook is enabled or resumed; changed, the attempt goes to its current URL, with
//     its current headers and secrets;
//  3. a start within its webhook's rate limit (paced), or due again when there is one;
//  4. send (try), bounded by the claim's end;
//  5. conclude: the retry policy counts the attempt and schedules the next one, and
//     the endpoint's health follows the outcome;
//  6. record: a settlement for the recorder, which writes a batch of them at once.

// run takes a claim through the pipeline; a worker calls it.
func (e *Engine) run(ctx context.Context, cl *claim) {
	within := cl.until.Sub(e.clock.Now()) - claimMargin(e.cfg.RescueAfter)
	if e.workers.stopped() || within <= 0 {
		e.freeSlot(cl)
		e.rec.put(e.scheduler.handOver(cl, 0))
		return
	}
	// Claimed before its endpoint's breaker opened (parked, say): due again after the
	// pause, unattempted.
	if wait := e.breakers.wait(ctx, cl.d.WebhookID, cl.d.ID, true); wait > 0 {
		e.freeSlot(cl)
		e.rec.put(e.scheduler.handOver(cl, jitter(wait)))
		return
	}
	if !cl.slot.held() {
		s, wait, parked := e.slots.take(cl)
		if parked {
			return
		}
		if wait > 0 {
			e.rec.put(e.scheduler.handOver(cl, jitter(wait)))
			return
		}
		cl.slot = s
	}
	w, err := e.webhookNow(ctx, cl)
	switch {
	case store.ErrorCode(err) == store.ENOTFOUND:
		e.freeSlot(cl)
		e.breakers.forget(ctx, cl.d.WebhookID)
		cl.d.Status, cl.d.LastError, cl.d.NextAttemptAt = store.DeliveryCancelled, "The webhook was deleted.", nil
		e.rec.put(&settlement{c: cl})
		return
	case err != nil:
		e.freeSlot(cl)
		if ctx.Err() == nil {
			e.log.Error("reading a delivery's webhook", "delivery", cl.d.ID, "webhook", cl.d.WebhookID, "err", err)
		}
		e.rec.put(e.scheduler.handOver(cl, time.Second))
		return
	case w.DisabledAt != nil || !w.Enabled || w.PausedAt != nil:
		e.freeSlot(cl)
		now := e.now()
		cl.d.HeldAt, cl.d.NextAttemptAt = &now, nil
		e.rec.put(&settlement{c: cl})
		return
	}
	cl.w = w
	s := e.slots.restamp(w.ID, cl.slot)
	cl.slot = slot{}
	defer e.release(w.ID, s)
	if w.RateLimit > 0 {
		if !e.paced(ctx, cl, w) {
			return
		}
		if within = cl.until.Sub(e.clock.Now()) - claimMargin(e.cfg.RescueAfter); within <= 0 {
			e.rec.put(e.scheduler.handOver(cl, 0))
			return
		}
	}
	tctx := ctx
	if cl.span.IsValid() {
		tctx = trace.ContextWithSpanContext(ctx, cl.span)
	}
	a, res, ok, err := e.try(tctx, &cl.d, w, cl.ev, within)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("delivery attempt", "delivery", cl.d.ID, "webhook", w.ID, "err", err)
		}
		e.rec.put(e.scheduler.handOver(cl, 0))
		return
	}
	e.logTurn(e.breakers.record(ctx, w.ID, cl.d.ID, ok), w, a, res)
	disable := e.conclude(&cl.d, w, a, res, ok)
	e.rec.put(&settlement{c: cl, a: a, res: res, ok: ok, disable: disable})
}

// freeSlot releases the place a claim holds, if any.
func (e *Engine) freeSlot(cl *claim) {
	if cl.slot.held() {
		s := cl.slot
		cl.slot = slot{}
		e.release(cl.d.WebhookID, s)
	}
}

// release gives a webhook's place back; a parked claim it passes to goes back to the
// workers, or, should they be stopping or swamped, is handed back, due at once.
func (e *Engine) release(webhookID string, s slot) {
	for {
		next := e.slots.release(webhookID, s)
		if next == nil || e.workers.offer(next) {
			return
		}
		s, next.slot = next.slot, slot{}
		e.rec.put(e.scheduler.handOver(next, 0))
	}
}

// paceHorizon is how long an attempt to a rate-limited webhook may wait for its start,
// holding its place; beyond it the claim is handed back, due then.
const paceHorizon = time.Second

// paced waits for a start under its webhook's rate limit, shared by every replica
// through the database (driver.ReserveSend), and reports true when the attempt may
// begin. Starts are spaced 5 % more than the limit asks, so that arrival jitter keeps
// any one-second window within it.
//
// A start is reserved only when it is due, within paceSlack of now, never far ahead:
// a process that reserved a start a second away and woke late (a loaded machine) would
// send it bunched with the on-time starts reserved after it, and a one-second window
// would hold more than the limit. So an attempt waits, unreserved, until the next start
// is near, then reserves it; another replica taking it first only means waiting for the
// one after. In this process one attempt per webhook at a time does so (pacers), the
// others queue behind it. When the next start is further than paceHorizon, or the reservation fails,
// the claim is handed back, unattempted, due around then, and paced reports false.
func (e *Engine) paced(ctx context.Context, cl *claim, w *store.Webhook) bool {
	step := time.Second / time.Duration(w.RateLimit)
	interval := step + step/20
	slack := paceSlack(step)
	horizon := e.clock.Now().Add(paceHorizon)
	p, ok := e.pace.take(ctx, w.ID)
	if !ok {
		e.rec.put(e.scheduler.handOver(cl, 0))
		return false
	}
	defer e.pace.release(w.ID, p)
	for {
		now := e.clock.Now()
		at, ok, err := e.db.ReserveSend(ctx, w.ID, now, interval, slack)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("reserving a rate-limited start", "delivery", cl.d.ID, "webhook", w.ID, "err", err)
			}
			e.rec.put(e.scheduler.handOver(cl, time.Second))
			return false
		}
		if !ok && at.After(horizon) {
			e.rec.put(e.scheduler.handOver(cl, jitter(max(at.Sub(now), interval))))
			return false
		}
		if d := at.Sub(now); d > 0 {
			c, stop := e.clock.After(d)
			select {
			case <-c:
				stop()
			case <-ctx.Done():
				stop()
				e.rec.put(e.scheduler.handOver(cl, 0))
				return false
			}
		}
		if ok {
			return true
		}
	}
}

// paceSlack is how far ahead of now a start is reserved: half a step, and at least 10 ms
// so that a high limit's starts are not missed to timer jitter.
func paceSlack(step time.Duration) time.Duration {
	return max(step/2, 10*time.Millisecond)
}
