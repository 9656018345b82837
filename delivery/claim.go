package delivery

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/polyhook/polyhook/store"
)

// The fast path. A delivery's first attempt does not go through the job queue: the
// process that publishes the event claims the delivery in the publishing transaction
// (store.Delivery.ClaimedUntil, RescueAfter ahead), hands it to its own workers as soon
// as the transaction commits, and records the attempt, a batch of them at a time, in a
// transaction that also ends the claim and, when another attempt is due, queues the job
// for it. The queue thus sees a delivery only when it needs a retry, and the database
// does a few cheap statements per delivery instead of a job's insert, fetch and
// completion.
//
// Nothing is lost when the process dies: its claims run out, and the sweep (a periodic
// job that runs on one process of all) hands every delivery whose claim ran out to the
// queue. On SQLite, where one process owns the file, Start does that for every claim at
// once. An attempt whose record did not commit before its process died is made again:
// delivery is at least once, as it always was.

// claim is one first attempt this process sends itself: the delivery, and its webhook
// and event as they were when it was published.
type claim struct {
	d     store.Delivery
	w     *store.Webhook
	ev    *store.Event
	until time.Time
	// slot is the token of the webhook's place passed on to the claim while it was
	// parked; zero until then.
	slot time.Time
	// parked is whether the claim waits in Engine.parked (e.mu guards it, and until
	// while it is true).
	parked bool
	// span is the publish's trace span, the parent of the attempt's.
	span trace.SpanContext
}

// parkCost is the memory a parked claim is counted to hold: 2 KiB for the claim, its
// delivery and its webhook (about 1.5 KiB measured with the benchmark's webhooks; a
// group's claims share their webhooks), and its event's data (counted for every claim
// of an event, though they share it).
func parkCost(cl *claim) int64 { return 2<<10 + int64(len(cl.ev.Data)) }

// settlement is what became of a claim, waiting to be recorded.
type settlement struct {
	c *claim
	// a is the attempt made, nil when the claim is handed to the queue untried (its
	// endpoint was busy, or the process is stopping).
	a       *store.Attempt
	res     Result
	ok      bool
	disable string
}

// claims is the fast path's state.
type claims struct {
	mu       sync.RWMutex
	open     bool // taking claims: between Start and Stop
	stopping atomic.Bool
	work     chan *claim
	settle   chan *settlement
	workers  sync.WaitGroup
	recorder sync.WaitGroup
	cancel   context.CancelFunc
	// stopRenewing stops the goroutine that renews the parked claims (a worker for
	// stopClaims's wait).
	stopRenewing context.CancelFunc
}

const (
	// settleBatch is how many settlements one transaction records at most.
	settleBatch = 256
	// sweepBatch is how many expired claims one sweep transaction hands to the queue.
	sweepBatch = 500
)

// claimMargin is how long before a claim runs out its attempt must be over, so that it
// is recorded before the sweep may hand the delivery to the queue.
func (e *Engine) claimMargin() time.Duration { return min(e.cfg.RescueAfter/4, 15*time.Second) }

func (e *Engine) startClaims(ctx context.Context) {
	c := &e.claims
	ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	// Room for the claims of large publish groups (fan-out multiplies them): a claim that
	// finds no room goes to the queue, which is far slower than waiting here.
	c.work = make(chan *claim, 64*e.cfg.Workers)
	c.settle = make(chan *settlement, settleBatch)
	for range e.cfg.Workers {
		c.workers.Add(1)
		go func() {
			defer c.workers.Done()
			for cl := range c.work {
				e.send(ctx, cl)
			}
		}()
	}
	c.recorder.Add(1)
	go func() {
		defer c.recorder.Done()
		e.record()
	}()
	var renewing context.Context
	renewing, c.stopRenewing = context.WithCancel(ctx)
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		e.renewParked(renewing)
	}()
	c.mu.Lock()
	c.open = true
	c.mu.Unlock()
}

// stopClaims stops taking claims, lets the attempts in flight finish and hands the
// claims not yet tried to the queue, then records everything. When ctx ends first, the
// attempts in flight are cut short and handed to the queue too.
func (e *Engine) stopClaims(ctx context.Context) error {
	c := &e.claims
	c.mu.Lock()
	if !c.open {
		c.mu.Unlock()
		return nil
	}
	c.open = false
	c.stopping.Store(true)
	close(c.work)
	c.stopRenewing()
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		c.workers.Wait()
		for _, s := range e.unpark() {
			c.settle <- s
		}
		close(c.settle)
		c.recorder.Wait()
		close(done)
	}()
	select {
	case <-done:
		c.cancel()
		return nil
	case <-ctx.Done():
		c.cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		return ctx.Err()
	}
}

// claimable reports whether this process should send a new delivery to webhookID
// itself, with n claims of the same group ahead of it: it is running, its workers are
// not swamped, and the endpoint is not stuck while the memory for parked claims is used
// up. Otherwise the delivery is queued, after wait when the endpoint is stuck.
//
// A stuck endpoint's deliveries are claimed like any other as long as that memory
// lasts, and wait parked for its places: a job each would cost the database an insert,
// a fetch and a snooze or more, on the connection that healthy endpoints' publishes
// wait for.
func (e *Engine) claimable(webhookID string, n int) (wait time.Duration, ok bool) {
	c := &e.claims
	c.mu.RLock()
	open := c.open && len(c.work)+n < cap(c.work)
	c.mu.RUnlock()
	if !open {
		return 0, false
	}
	e.mu.Lock()
	_, wait = e.busy(e.slots[webhookID], time.Now())
	full := e.parkedBytes >= e.cfg.ParkMemory
	e.mu.Unlock()
	if wait > 0 && full {
		return wait, false
	}
	return 0, true
}

// dispatch hands committed claims to the workers; those that do not fit, or arrive
// while the engine stops, go to the queue.
func (e *Engine) dispatch(cls []*claim) {
	if len(cls) == 0 {
		return
	}
	var over []*settlement
	for _, cl := range cls {
		if !e.claims.offer(cl) {
			over = append(over, handOver(cl, 0))
		}
	}
	if len(over) > 0 {
		e.settleRetrying(over)
	}
}

// offer gives a claim to the workers if the engine is running and they have room for
// it. The read lock keeps Stop from closing the channel meanwhile.
func (c *claims) offer(cl *claim) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.open {
		return false
	}
	select {
	case c.work <- cl:
		return true
	default:
		return false
	}
}

// handOver gives a claim to the queue untried, to run after wait.
func handOver(cl *claim, wait time.Duration) *settlement {
	if wait > 0 {
		at := time.Now().Add(wait)
		cl.d.NextAttemptAt = &at
	}
	return &settlement{c: cl}
}

// send makes a claim's attempt, unless the claim is about to run out or the engine is
// stopping: then the claim goes to the queue. When the endpoint's places are all taken,
// the claim is parked, without holding a worker, until one of them is released; should
// the memory for parked claims be used up, it goes to the queue instead.
func (e *Engine) send(ctx context.Context, cl *claim) {
	c := &e.claims
	within := time.Until(cl.until) - e.claimMargin()
	if c.stopping.Load() || within <= 0 {
		if !cl.slot.IsZero() {
			e.releaseSlot(cl.w.ID, cl.slot)
		}
		c.settle <- handOver(cl, 0)
		return
	}
	slot := cl.slot
	if slot.IsZero() {
		var (
			wait   time.Duration
			parked bool
		)
		if slot, wait, parked = e.claimSlot(cl); parked {
			return
		} else if wait > 0 {
			c.settle <- handOver(cl, jitter(wait))
			return
		}
	}
	select {
	case e.sending <- struct{}{}:
	case <-ctx.Done():
		e.releaseSlot(cl.w.ID, slot)
		c.settle <- handOver(cl, 0)
		return
	}
	// The place's age is the endpoint's to answer for from now on, not the time the
	// claim waited for a worker or a sending place: otherwise a busy gateway would make
	// its endpoints look stuck.
	slot = e.restamp(cl.w.ID, slot)
	defer e.release(cl.w.ID, slot)
	tctx := ctx
	if cl.span.IsValid() {
		tctx = trace.ContextWithSpanContext(ctx, cl.span)
	}
	a, res, ok, err := e.try(tctx, &cl.d, cl.w, cl.ev, within)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("delivery attempt", "delivery", cl.d.ID, "webhook", cl.w.ID, "err", err)
		}
		c.settle <- handOver(cl, 0)
		return
	}
	_, disable := e.conclude(&cl.d, cl.w, a, res, ok)
	c.settle <- &settlement{c: cl, a: a, res: res, ok: ok, disable: disable}
}

// claimSlot takes one of cl's webhook's places and returns its token. When they are all
// taken it parks cl, or, when the memory for parked claims is used up, returns how long
// cl should wait in the queue.
func (e *Engine) claimSlot(cl *claim) (token time.Time, wait time.Duration, parked bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	inflight := e.slots[cl.w.ID]
	full, wait := e.busy(inflight, now)
	if !full {
		e.slots[cl.w.ID] = append(inflight, now)
		return now, 0, false
	}
	cost := parkCost(cl)
	if e.parkedBytes+cost > e.cfg.ParkMemory {
		return time.Time{}, max(wait, time.Second), false
	}
	cl.parked = true
	e.parked[cl.w.ID] = append(e.parked[cl.w.ID], cl)
	e.parkedCount++
	e.parkedBytes += cost
	return time.Time{}, 0, true
}

// parkedLoad returns how many claims are parked and the memory they are counted to hold.
func (e *Engine) parkedLoad() (int, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.parkedCount, e.parkedBytes
}

// restamp renews the start time of a webhook's in-flight place and returns its new
// token.
func (e *Engine) restamp(webhookID string, token time.Time) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	inflight := e.slots[webhookID]
	for i, t := range inflight {
		if t.Equal(token) {
			inflight[i] = now
			return now
		}
	}
	return token
}

// resume hands a parked claim, which now holds a place, back to the workers. Should
// they be stopping or swamped, it goes to the queue instead.
func (e *Engine) resume(cl *claim) {
	if e.claims.offer(cl) {
		return
	}
	e.releaseSlot(cl.w.ID, cl.slot)
	go e.settleRetrying([]*settlement{handOver(cl, 0)})
}

// unpark takes every parked claim, for the queue.
func (e *Engine) unpark() []*settlement {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*settlement
	for id, q := range e.parked {
		for _, cl := range q {
			cl.parked = false
			out = append(out, handOver(cl, 0))
		}
		delete(e.parked, id)
	}
	e.parkedCount, e.parkedBytes = 0, 0
	return out
}

// renewParked keeps parked claims from running out while they wait, however long their
// endpoint hangs: every eighth of RescueAfter it extends to RescueAfter from now the
// claims with less than three quarters of it left, so that a claim always has most of
// it left for its attempt when it gets a place.
func (e *Engine) renewParked(ctx context.Context) {
	t := time.NewTicker(max(e.cfg.RescueAfter/8, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := e.renew(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("renewing the claims of parked deliveries", "err", err)
		}
	}
}

// renew extends the parked claims due for it, a batch per statement. A claim the sweep
// took meanwhile (this process stalled past its end) is the queue's now: it leaves the
// parked claims.
func (e *Engine) renew(ctx context.Context) error {
	due := e.db.Now().Add(3 * e.cfg.RescueAfter / 4)
	var cls []*claim
	e.mu.Lock()
	for _, q := range e.parked {
		for _, cl := range q {
			if cl.until.Before(due) {
				cls = append(cls, cl)
			}
		}
	}
	e.mu.Unlock()
	for batch := range slices.Chunk(cls, sweepBatch) {
		ids := make([]string, len(batch))
		for i, cl := range batch {
			ids[i] = cl.d.ID
		}
		until := e.db.Now().Add(e.cfg.RescueAfter)
		renewed, err := e.db.RenewClaims(ctx, ids, until)
		if err != nil {
			return err
		}
		e.mu.Lock()
		for _, cl := range batch {
			switch {
			case !cl.parked: // it got a place meanwhile: its attempt is bounded by its old end
			case renewed[cl.d.ID]:
				cl.until = until
			default:
				e.dropParked(cl)
			}
		}
		e.mu.Unlock()
	}
	return nil
}

// dropParked takes a claim out of the parked claims (e.mu held): it got a place, or
// the queue has it.
func (e *Engine) dropParked(cl *claim) {
	q := e.parked[cl.w.ID]
	switch i := slices.Index(q, cl); {
	case i == 0: // the usual case, a place passed on: no copy of the rest
		q = q[1:]
	case i > 0:
		q = slices.Delete(q, i, i+1)
	}
	if len(q) == 0 {
		delete(e.parked, cl.w.ID)
	} else {
		e.parked[cl.w.ID] = q
	}
	cl.parked = false
	e.parkedCount--
	e.parkedBytes -= parkCost(cl)
}

// record writes settlements as they come, as many per transaction as are waiting.
func (e *Engine) record() {
	c := &e.claims
	for s := range c.settle {
		batch := []*settlement{s}
	more:
		for len(batch) < settleBatch {
			select {
			case s, ok := <-c.settle:
				if !ok {
					break more
				}
				batch = append(batch, s)
			default:
				break more
			}
		}
		e.settleRetrying(batch)
	}
}

// settleRetrying records a batch, trying again a few times when the database fails.
// Should it keep failing, the claims run out and the sweep queues the deliveries again:
// their attempts are made twice, not lost.
func (e *Engine) settleRetrying(batch []*settlement) {
	var err error
	for try, wait := 0, 50*time.Millisecond; try < 5; try, wait = try+1, wait*2 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = e.settleBatch(ctx, batch)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(wait)
	}
	e.log.Error("recording delivery attempts; the sweep will send them again", "deliveries", len(batch), "err", err)
}

// settleBatch records settlements in one transaction: the attempts, the deliveries'
// new states, the jobs of those that need another attempt, and the endpoints' health.
func (e *Engine) settleBatch(ctx context.Context, batch []*settlement) error {
	ds := make([]*store.Delivery, len(batch))
	as := make([]*store.Attempt, len(batch))
	for i, s := range batch {
		ds[i], as[i] = &s.c.d, s.a
	}
	err := e.db.InTx(ctx, func(tx *store.DB, raw store.RawTx) error {
		held, err := tx.Settle(ctx, ds, as)
		if err != nil {
			return err
		}
		var queued []store.Delivery
		for i, s := range batch {
			if held[i] && s.c.d.Status == store.DeliveryPending {
				queued = append(queued, s.c.d)
			}
		}
		if err := e.queue.enqueue(ctx, raw, queued); err != nil {
			return err
		}
		healthy := map[string]bool{}
		for _, s := range batch {
			switch {
			case s.a == nil:
			case s.ok:
				healthy[s.c.w.ID] = true
			default:
				if err := e.health(ctx, tx, s.c.w, false, s.a.StartedAt); err != nil {
					return err
				}
			}
			if s.disable != "" {
				if err := tx.DisableWebhook(ctx, s.c.w.ID, s.disable); err != nil {
					return err
				}
			}
		}
		ids := make([]string, 0, len(healthy))
		for id := range healthy {
			ids = append(ids, id)
		}
		return tx.MarkHealthy(ctx, ids)
	})
	if err != nil {
		return err
	}
	for _, s := range batch {
		if s.a != nil {
			e.observe(&s.c.d, s.c.w, s.a, s.res, s.ok)
		}
	}
	return nil
}

// sweep hands every delivery whose claim ran out before a time to the queue.
func (e *Engine) sweep(ctx context.Context, before time.Time) error {
	for {
		ds, err := e.db.ExpiredClaims(ctx, before, sweepBatch)
		if err != nil || len(ds) == 0 {
			return err
		}
		var queued []store.Delivery
		err = e.db.InTx(ctx, func(tx *store.DB, raw store.RawTx) error {
			queued = queued[:0]
			for _, d := range ds {
				ok, err := tx.Unclaim(ctx, d.ID, before)
				if err != nil {
					return err
				}
				if ok {
					d.ClaimedUntil, d.NextAttemptAt = nil, nil
					queued = append(queued, d)
				}
			}
			return e.queue.enqueue(ctx, raw, queued)
		})
		if err != nil {
			return err
		}
		if len(queued) > 0 {
			e.log.Info("queued deliveries whose sender stopped before sending them", "deliveries", len(queued))
		}
		if len(ds) < sweepBatch {
			return nil
		}
	}
}
