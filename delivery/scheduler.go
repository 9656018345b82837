package delivery

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/store"
)

// The scheduler owns when a delivery runs next. Whatever a delivery waits for (a retry's
// backoff or Retry-After, an open breaker's pause, a stuck endpoint, a claim handed back
// untried by a stopping or swamped process, an operator's retry or recovery, the end of a
// hold, a dead replica's or an expired claim) it waits as its row: pending, unclaimed,
// due at next_attempt_at. The scheduler polls for the deliveries that are due, claims a
// batch of them in one statement and hands them to the workers; the only other way into
// the workers is a publish's own claims, which decide with the scheduler (claimable)
// whether to claim at once. A crash loses nothing: what a process keeps in memory
// (claims waiting for a worker or parked for a place) is claimed in the database, and its
// claims are released, due, when it dies (replicas.go, the sweep).
//
// It also keeps parked claims alive (renew) and makes held deliveries due once their
// webhook delivers again.
type scheduler struct {
	db          driver.Driver
	clock       Clock
	log         *slog.Logger
	replica     string
	rescueAfter time.Duration
	heartbeat   time.Duration
	workers     *workers
	slots       *endpoints
	breakers    *breakers
	rec         *recorder
	// woken asks the poll to look now: a lane's next delivery was made due (wake).
	woken chan struct{}

	wg     sync.WaitGroup
	cancel context.CancelFunc
	// looking counts the loops' looks under way: what idle reports.
	looking atomic.Int32
}

// duePoll is how often the scheduler looks for due deliveries when the last look found
// fewer than a batch; a retry is thus made up to this late.
const duePoll = 200 * time.Millisecond

// dueBatch is how many due deliveries one look claims at most.
const dueBatch = 256

// sweepBatch is how many parked claims one statement renews.
const sweepBatch = 500

// dispatchWait is how long a publisher waits for room among the workers for its claims
// before it hands them back, due at once. Waiting is the backpressure that keeps a
// saturated gateway on its fast path: handed back, a delivery costs the database a write
// and a claim more, on the connection everything waits for.
const dispatchWait = 2 * time.Second

func (s *scheduler) start(ctx context.Context) error {
	if !s.db.Shared() {
		// One process uses the database: whatever a process claimed before is lost.
		if err := s.sweep(ctx, s.clock.Now().Add(100*365*24*time.Hour)); err != nil {
			return err
		}
	}
	// The breakers other processes (or this one, before a restart) opened.
	if err := s.breakers.refresh(ctx); err != nil {
		return err
	}
	// Deliveries an older version left to jobs of the queue are due now, and so are the
	// lanes' heads left waiting.
	if _, err := s.db.ScheduleUnscheduled(ctx, s.now()); err != nil {
		return err
	}
	if _, err := s.db.PromoteLaneHeads(ctx); err != nil {
		return err
	}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, loop := range []struct {
		every time.Duration
		do    func(context.Context) error
		what  string
		woken <-chan struct{}
	}{
		{duePoll, s.pollDue, "claiming the deliveries due", s.woken},
		{max(s.rescueAfter/8, 10*time.Millisecond), s.renew, "renewing the claims of parked deliveries", nil},
		{s.heartbeat, s.releaseHeld, "releasing held deliveries", nil},
	} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			tick, stop := s.clock.Tick(loop.every)
			defer stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick:
				case <-loop.woken:
				}
				s.looking.Add(1)
				if err := loop.do(ctx); err != nil && ctx.Err() == nil {
					s.log.Error(loop.what, "err", err)
				}
				s.looking.Add(-1)
			}
		}()
	}
	return nil
}

func (s *scheduler) stop(context.Context) error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return nil
}

// idle reports whether none of the scheduler's loops is looking: whatever they claimed
// is with the workers, or handed back to the recorder.
func (s *scheduler) idle() bool { return s.looking.Load() == 0 }

func (s *scheduler) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

// claimable reports whether this process should claim deliveryID to webhookID now: the
// workers run, the endpoint's breaker lets it go (breaker.go), and the endpoint is not
// stuck while the memory for parked claims is used up (swamped workers make the
// publisher wait, see dispatchWait). Otherwise the delivery is left due after wait, or at
// once when the workers do not run.
//
// A stuck endpoint's deliveries are claimed like any other as long as that memory
// lasts, and wait parked for its places, costing the database nothing meanwhile.
func (s *scheduler) claimable(webhookID, deliveryID string) (wait time.Duration, ok bool) {
	if !s.workers.accepting() {
		return 0, false
	}
	if wait := s.breakers.wait(context.Background(), webhookID, deliveryID, false); wait > 0 {
		return wait, false
	}
	return s.slots.admit(webhookID)
}

// handOver hands a claim back untried, due after wait: the scheduler takes it then, on
// whichever process.
func (s *scheduler) handOver(cl *claim, wait time.Duration) *settlement {
	at := s.now().Add(wait)
	cl.d.NextAttemptAt = &at
	return &settlement{c: cl}
}

// dispatch hands claims to the workers, waiting up to wait for room; those that do not
// fit, or arrive while the workers stop, are handed back, due at once.
func (s *scheduler) dispatch(cls []*claim, wait time.Duration) {
	for _, cl := range cls {
		if !s.workers.offerWait(cl, wait) {
			s.rec.put(s.handOver(cl, 0))
		}
	}
}

// pollDue claims due deliveries, a batch at a time, for as long as full batches come.
// Where replicas share the database it first reads the breakers again, those the others
// opened or closed included, for this poll and for the publishes until the next.
func (s *scheduler) pollDue(ctx context.Context) error {
	if s.db.Shared() {
		if err := s.breakers.refresh(ctx); err != nil {
			return err
		}
	}
	for {
		_, full, err := s.claimDue(ctx)
		if err != nil || !full || ctx.Err() != nil {
			return err
		}
	}
}

// claimDue claims up to a batch of due deliveries and hands them to the workers; those
// of stuck endpoints wait until their endpoint may be free, those of open breakers
// (breaker.go) until their probe has answered. It reports how many it claimed, and
// whether that was a full batch (more may be due).
func (s *scheduler) claimDue(ctx context.Context) (claimed int, full bool, err error) {
	room := s.workers.room()
	if room <= 0 {
		return 0, false, nil
	}
	limit := min(dueBatch, room)
	due, err := s.db.DueDeliveries(ctx, s.clock.Now(), limit, s.breakers.blocked())
	if err != nil || len(due) == 0 {
		return 0, false, err
	}
	ready := due[:0:0]
	var postpone []store.Delivery
	for _, d := range due {
		wait, ok := s.claimable(d.WebhookID, d.ID)
		switch {
		case ok:
			ready = append(ready, d)
		case s.breakers.paused(d.WebhookID):
			// Left due: the next look leaves out the endpoint until its probe answers.
		case wait > 0:
			at := s.clock.Now().Add(jitter(wait))
			d.NextAttemptAt = &at
			postpone = append(postpone, d)
		default: // stopping
			return 0, false, nil
		}
	}
	until := s.clock.Now().Add(s.rescueAfter)
	got, err := s.db.ClaimDue(ctx, ready, postpone, s.replica, until)
	if err != nil || len(got) == 0 {
		return 0, false, err
	}
	ids := make([]string, len(got))
	for i := range got {
		ids[i] = got[i].EventID
	}
	evs, err := s.db.EventsByID(ctx, ids)
	cls := make([]*claim, 0, len(got))
	for _, d := range got {
		cl := &claim{d: d, until: until}
		if cl.ev = evs[d.EventID]; cl.ev == nil {
			if err == nil {
				s.log.Error("a due delivery's event is missing", "delivery", d.ID, "event", d.EventID)
			}
			s.rec.put(s.handOver(cl, time.Second))
			continue
		}
		cls = append(cls, cl)
	}
	s.dispatch(cls, 0)
	return len(got), len(got) == limit, err
}

// renew keeps parked claims from running out while they wait, however long their
// endpoint hangs: every eighth of RescueAfter it extends to RescueAfter from now the
// claims with less than three quarters of it left, a batch per statement, so that a
// claim always has most of it left for its attempt when it gets a place. A claim the
// sweep released meanwhile (this process stalled past its end) is due again: it leaves
// the parked claims.
func (s *scheduler) renew(ctx context.Context) error {
	cls := s.slots.due(s.clock.Now().Add(3 * s.rescueAfter / 4))
	for batch := range slices.Chunk(cls, sweepBatch) {
		ids := make([]string, len(batch))
		for i, cl := range batch {
			ids[i] = cl.d.ID
		}
		until := s.clock.Now().Add(s.rescueAfter)
		renewed, err := s.db.RenewClaims(ctx, s.replica, ids, until)
		if err != nil {
			return err
		}
		s.slots.renewed(batch, renewed, until)
	}
	return nil
}

// sweep makes due again every delivery whose claim ran out before a time: its process
// stopped before it recorded the attempt. The queue's periodic job runs it on one
// process of all.
func (s *scheduler) sweep(ctx context.Context, before time.Time) error {
	n, err := s.db.ReleaseExpired(ctx, before, s.now())
	if n > 0 {
		s.log.Info("deliveries whose sender stopped before sending them are due again", "deliveries", n)
	}
	return err
}

// releaseHeld makes due the held deliveries whose webhook delivers again (enabled by
// its owner or by an operator, whichever way that happened), and the lanes' heads whose
// promotion a concurrent publish hid (see store/lanes.go).
func (s *scheduler) releaseHeld(ctx context.Context) error {
	if _, err := s.db.ReleaseHeld(ctx, s.now()); err != nil {
		return err
	}
	_, err := s.db.PromoteLaneHeads(ctx)
	return err
}

// wake has the poll look for due deliveries now rather than at its next tick: a lane's
// head finished, and its next delivery is due. Wakes while one is pending are one.
func (s *scheduler) wake() {
	select {
	case s.woken <- struct{}{}:
	default:
	}
}

// handBack hands parked claims back, due at once; the endpoints' stop calls it.
func (s *scheduler) handBack(cls []*claim) {
	for _, cl := range cls {
		s.rec.put(s.handOver(cl, 0))
	}
}
