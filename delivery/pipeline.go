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

// paceHorizon is how far ahead an attempt to a rate-limited webhook may reserve its
// start and wait for it, holding its place; beyond it the claim is handed back, due then.
const paceHorizon = time.Second

// paced waits for the start reserved for an attempt under its webhook's rate limit,
// shared by every replica through the database (driver.ReserveSend). When the next
// start is further than paceHorizon, or the reservation fails, it hands the claim back,
// unattempted, due around then, and reports false. Starts are spaced 5 % more than the
// limit asks, so that arrival jitter keeps any one-second window within it.
//
// A start is used on time or not at all: a process that wakes later than paceSlack(step)
// after its reserved start (a loaded machine, a slow reservation) reserves again rather
// than send late, since late starts bunch up with the on-time ones reserved after them
// and a one-second window would then hold more than the limit.
func (e *Engine) paced(ctx context.Context, cl *claim, w *store.Webhook) bool {
	step := time.Second / time.Duration(w.RateLimit)
	interval := step + step/20
	slack := paceSlack(step)
	for tries := 0; ; tries++ {
		now := e.clock.Now()
		at, ok, err := e.db.ReserveSend(ctx, w.ID, now, interval, paceHorizon)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("reserving a rate-limited start", "delivery", cl.d.ID, "webhook", w.ID, "err", err)
			}
			e.rec.put(e.scheduler.handOver(cl, time.Second))
			return false
		}
		if !ok {
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
		if e.clock.Now().Sub(at) <= slack {
			return true
		}
		if tries == maxPaceTries-1 {
			// Late every time: the machine cannot keep the pace now; the delivery waits
			// its turn again rather than take a start it missed.
			e.rec.put(e.scheduler.handOver(cl, jitter(interval)))
			return false
		}
	}
}

// maxPaceTries bounds how many starts one attempt reserves, and misses, before its
// claim is handed back.
const maxPaceTries = 3

// paceSlack is how late after its reserved start an attempt may still begin: half a
// step, and at least 10 ms so that high limits are not all missed to timer jitter. At
// most (1s + slack) / interval + 1 attempts then begin in any one second, within the limit.
func paceSlack(step time.Duration) time.Duration {
	return max(step/2, 10*time.Millisecond)
}
