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

// The claim lifecycle. Every attempt is made under a claim (store.Delivery.ClaimedUntil
// and ClaimedBy): the process that publishes an event claims its deliveries in the
// publishing transaction and hands them to its workers as soon as it commits; every
// other attempt (a retry, an operator's retry or recovery, a delivery whose endpoint was
// busy or whose breaker was open, one handed back untried) waits as its row, due at its
// next_attempt_at, until the poll for due deliveries (due.go) claims it and hands it to
// the same workers. The attempt is recorded, a batch at a time, in a transaction that
// also ends the claim and sets the next attempt's time when one is due (recorder.go).
//
// Nothing is lost when the process dies: its heartbeat stops, and another replica makes
// its claims due within seconds (replicas.go); should that fail too, its claims run out
// and the sweep (a periodic job that runs on one process of all) makes them due. On
// SQLite, where one process owns the file, Start does that for every claim at once. An
// attempt whose record did not commit before its process died is made again: delivery
// is at least once, as it always was.

// claim is one attempt this process sends itself.
type claim struct {
	d store.Delivery
	// w is the webhook as it was read at read: by the publish, or before the attempt;
	// nil before then for a claim taken by the poll for due deliveries.
	w    *store.Webhook
	read time.Time
	// writes is the store's count of webhook writes taken before w was read (see
	// driver.Driver.WebhookWrites).
	writes uint64
	// waited is set once the claim is parked: it reads its webhook again when its turn
	// comes (see webhookNow).
	waited bool
	ev     *store.Event
	until  time.Time
	// slot is the webhook's place passed on to the claim while it was parked.
	slot slot
	// parked is whether the claim waits in endpoints.parked (endpoints.mu guards it, and
	// until while it is true).
	parked bool
	// span is the publish's trace span, the parent of the attempt's.
	span trace.SpanContext
}

// claims is the workers' state.
type claims struct {
	mu       sync.RWMutex
	open     bool // taking claims: between Start and Stop
	stopping atomic.Bool
	// halt is closed when Stop begins: a publisher waiting for room stops waiting.
	halt    chan struct{}
	work    chan *claim
	workers sync.WaitGroup
	cancel  context.CancelFunc
	// stopLoops stops the goroutines that renew the parked claims and beat the
	// heartbeat.
	stopLoops context.CancelFunc
}

// sweepBatch is how many parked claims one statement renews.
const sweepBatch = 500

// claimMargin is how long before a claim runs out its attempt must be over, so that it
// is recorded before the sweep may make the delivery due again.
func (e *Engine) claimMargin() time.Duration { return min(e.cfg.RescueAfter/4, 15*time.Second) }

func (e *Engine) startClaims(ctx context.Context) {
	c := &e.claims
	ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	// Room for the claims of large publish groups (fan-out multiplies them): a claim that
	// finds no room is left due, which costs the database a write and a claim more.
	c.work = make(chan *claim, 64*e.cfg.Workers)
	c.halt = make(chan struct{})
	e.rec = newRecorder(e.settleRetrying)
	for range e.cfg.Workers {
		c.workers.Add(1)
		go func() {
			defer c.workers.Done()
			for cl := range c.work {
				e.run(ctx, cl)
			}
		}()
	}
	var loops context.Context
	loops, c.stopLoops = context.WithCancel(ctx)
	c.workers.Add(3)
	go func() {
		defer c.workers.Done()
		e.renewParked(loops)
	}()
	go func() {
		defer c.workers.Done()
		e.pollDue(loops)
	}()
	go func() {
		defer c.workers.Done()
		e.watchReplicas(loops)
	}()
	c.mu.Lock()
	c.open = true
	c.mu.Unlock()
}

// stopClaims stops taking claims, lets the attempts in flight finish and hands the
// claims not yet tried back, due at once, then records everything. When ctx ends first,
// the attempts in flight are cut short and handed back too.
func (e *Engine) stopClaims(ctx context.Context) error {
	c := &e.claims
	if c.stopping.CompareAndSwap(false, true) && c.halt != nil {
		close(c.halt)
	}
	c.mu.Lock()
	if !c.open {
		c.mu.Unlock()
		return nil
	}
	c.open = false
	c.stopping.Store(true)
	close(c.work)
	c.stopLoops()
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		c.workers.Wait()
		for _, cl := range e.slots.unpark() {
			e.rec.put(e.handOver(cl, 0))
		}
		e.rec.close()
		close(done)
	}()
	select {
	case <-done:
		c.cancel()
		// Every claim is recorded or handed back: nothing is left for another replica to rescue.
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.db.ForgetReplica(fctx, e.replica); err != nil {
			e.log.Warn("removing this process's heartbeat", "err", err)
		}
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

// claimable reports whether this process should claim deliveryID to webhookID, with n
// claims of the same group ahead of it: it is running, the endpoint's breaker lets it go
// (breaker.go), and the endpoint is not stuck while the memory for parked claims is used
// up (swamped workers make the publisher wait, see dispatchWait). Otherwise the delivery
// is left due after wait (see due.go), or at once when the process is not running.
//
// A stuck endpoint's deliveries are claimed like any other as long as that memory
// lasts, and wait parked for its places, costing the database nothing meanwhile.
func (e *Engine) claimable(webhookID, deliveryID string, n int) (wait time.Duration, ok bool) {
	c := &e.claims
	c.mu.RLock()
	open := c.open
	c.mu.RUnlock()
	if !open {
		return 0, false
	}
	if wait := e.breakers.wait(webhookID, deliveryID); wait > 0 {
		return wait, false
	}
	return e.slots.admit(webhookID)
}

// dispatch hands committed claims to the workers; those that do not fit, or arrive
// while the engine stops, are handed back, due at once.
func (e *Engine) dispatch(cls []*claim) {
	if len(cls) == 0 {
		return
	}
	var over []*settlement
	for _, cl := range cls {
		if !e.claims.offerWait(cl, dispatchWait) {
			over = append(over, e.handOver(cl, 0))
		}
	}
	if len(over) > 0 {
		e.settleRetrying(over)
	}
}

// dispatchWait is how long a publisher waits for room among the workers for its claims
// before it hands them back, due at once. Waiting is the backpressure that keeps a
// saturated gateway on its fast path: handed back, a delivery costs the database a write
// and a claim more, on the connection everything waits for.
const dispatchWait = 2 * time.Second

// offerWait gives a claim to the workers, waiting up to wait for room, unless the engine
// stops meanwhile.
func (c *claims) offerWait(cl *claim, wait time.Duration) bool {
	if c.offer(cl) {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.open {
		return false
	}
	select {
	case c.work <- cl:
		return true
	case <-c.halt:
		return false
	case <-t.C:
		return false
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
// released meanwhile (this process stalled past its end) is due again: it leaves the
// parked claims.
func (e *Engine) renew(ctx context.Context) error {
	cls := e.slots.due(e.clock.Now().Add(3 * e.cfg.RescueAfter / 4))
	for batch := range slices.Chunk(cls, sweepBatch) {
		ids := make([]string, len(batch))
		for i, cl := range batch {
			ids[i] = cl.d.ID
		}
		until := e.clock.Now().Add(e.cfg.RescueAfter)
		renewed, err := e.db.RenewClaims(ctx, e.replica, ids, until)
		if err != nil {
			return err
		}
		e.slots.renewed(batch, renewed, until)
	}
	return nil
}

// sweep makes due again every delivery whose claim ran out before a time: its process
// stopped before it recorded the attempt.
func (e *Engine) sweep(ctx context.Context, before time.Time) error {
	n, err := e.db.ReleaseExpired(ctx, before, e.now())
	if n > 0 {
		e.log.Info("deliveries whose sender stopped before sending them are due again", "deliveries", n)
	}
	return err
}
