package delivery

import (
	"context"
	"time"
)

// The poll for due deliveries: the one way into the workers besides a publish's own
// claims. Whatever a delivery waits for (a retry's backoff or Retry-After, an open
// breaker's pause, a stuck endpoint, a claim handed back untried by a stopping or swamped
// process, an operator's retry or recovery, the end of a hold, a dead replica's claim) it
// waits as its row: pending, unclaimed, due at next_attempt_at. Each process polls for
// the deliveries that are due, claims a batch of them in one transaction and hands them
// to the same workers as a publish. A crash loses nothing of it: what a process keeps in
// memory (claims waiting for a worker or parked for a place) is claimed in the database,
// and its claims are released, due, when it dies (replicas.go, the sweep).

// duePoll is how often a process looks for due deliveries when the last look found
// fewer than a batch; a retry is thus made up to this late.
const duePoll = 200 * time.Millisecond

// dueBatch is how many due deliveries one look claims at most.
const dueBatch = 256

func (e *Engine) pollDue(ctx context.Context) {
	t := time.NewTicker(duePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			full, err := e.claimDue(ctx)
			if err != nil && ctx.Err() == nil {
				e.log.Error("claiming the deliveries due for a retry", "err", err)
			}
			if err != nil || !full || ctx.Err() != nil {
				break
			}
		}
	}
}

// claimDue claims up to a batch of due deliveries and hands them to the workers; those
// of stuck endpoints wait until their endpoint may be free, those of open breakers
// (breaker.go) until their probe has answered. It reports whether it claimed
// a full batch (more may be due).
func (e *Engine) claimDue(ctx context.Context) (bool, error) {
	c := &e.claims
	c.mu.RLock()
	room := cap(c.work) - len(c.work)
	c.mu.RUnlock()
	if room <= 0 {
		return false, nil
	}
	limit := min(dueBatch, room)
	due, err := e.db.DueDeliveries(ctx, e.clock.Now(), limit, e.breakers.open())
	if err != nil || len(due) == 0 {
		return false, err
	}
	ready := due[:0:0]
	postpone := map[string]time.Time{}
	for _, d := range due {
		wait, ok := e.claimable(d.WebhookID, d.ID, 0)
		switch {
		case ok:
			ready = append(ready, d)
		case e.breakers.paused(d.WebhookID):
			// Left due: the next look leaves out the endpoint until its probe answers.
		case wait > 0:
			postpone[d.ID] = e.clock.Now().Add(jitter(wait))
		default: // stopping
			return false, nil
		}
	}
	until := e.clock.Now().Add(e.cfg.RescueAfter)
	claimed, err := e.db.ClaimDue(ctx, ready, postpone, e.replica, until)
	if err != nil || len(claimed) == 0 {
		return false, err
	}
	ids := make([]string, len(claimed))
	for i := range claimed {
		ids[i] = claimed[i].EventID
	}
	evs, err := e.db.EventsByID(ctx, ids)
	cls := make([]*claim, 0, len(claimed))
	var lost []*settlement
	for _, d := range claimed {
		cl := &claim{d: d, until: until}
		if cl.ev = evs[d.EventID]; cl.ev == nil {
			if err == nil {
				e.log.Error("a due delivery's event is missing", "delivery", d.ID, "event", d.EventID)
			}
			lost = append(lost, e.handOver(cl, time.Second))
			continue
		}
		cls = append(cls, cl)
	}
	if len(lost) > 0 {
		e.settleRetrying(lost)
	}
	e.dispatch(cls)
	return len(claimed) == limit, err
}
