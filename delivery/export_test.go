package delivery

import (
	"context"
	"time"
)

// What the engine offers its tests for moving without sleeping: with a TestClock a test
// moves time (TestClock.Advance), then waits for the engine to have done what that time
// asks (Quiet), or runs one of the scheduler's steps itself (Look, Renew, Sweep).

// Quiet waits until the engine has nothing left to do at its clock's present time: no
// publish being committed, no claim with the workers or parked for a place of its
// endpoint, no settlement unwritten, no operator event unpublished, and a look of the
// scheduler (Look) that began once all that held found nothing to claim. A test calls it where it would otherwise sleep
// "long enough" before asserting that nothing more happens: what is due later, by the
// engine's clock, waits for the test to move the clock.
func (e *Engine) Quiet(ctx context.Context) error {
	for {
		if err := until(ctx, e.idle); err != nil {
			return err
		}
		n, err := e.Look(ctx)
		if err != nil {
			return err
		}
		if n == 0 && e.idle() {
			return nil
		}
	}
}

// idle reports whether no part of the engine holds work.
func (e *Engine) idle() bool {
	parked, _ := e.slots.load()
	return parked == 0 && e.publisher.idle() && e.scheduler.idle() && e.workers.idle() && e.rec.idle() && e.notices.idle()
}

// Look is one look of the scheduler, begun now: held deliveries whose webhook delivers
// again are made due, then the deliveries due by the engine's clock are claimed and
// handed to the workers. It returns how many it claimed.
func (e *Engine) Look(ctx context.Context) (int, error) {
	if err := e.scheduler.releaseHeld(ctx); err != nil {
		return 0, err
	}
	total := 0
	for {
		n, full, err := e.scheduler.claimDue(ctx)
		total += n
		if err != nil || !full {
			return total, err
		}
	}
}

// Renew is one renewal of the parked claims, as the scheduler's loop makes every eighth
// of RescueAfter.
func (e *Engine) Renew(ctx context.Context) error { return e.scheduler.renew(ctx) }

// Sweep is one run of the periodic sweep: the claims that ran out by the engine's clock
// are due again.
func (e *Engine) Sweep(ctx context.Context) error { return e.scheduler.sweep(ctx, e.clock.Now()) }

// Rescue is one judgement of the other replicas' heartbeats, as the heartbeat makes
// every Heartbeat: the claims of those silent for 5×Heartbeat are due again.
func (e *Engine) Rescue(ctx context.Context) error {
	return e.beat.rescue(ctx, e.clock.Now().Add(-e.beat.silence()))
}

// SweepNotices is one sweep of the operator events left unpublished, of every one
// stored before now by the engine's clock.
func (e *Engine) SweepNotices(ctx context.Context) { e.sweeper.sweep(ctx, e.clock.Now()) }

// Stopping reports whether Stop has begun.
func (e *Engine) Stopping() bool { return e.workers.stopped() }

// until waits for cond, looking every millisecond, or for ctx to end.
func until(ctx context.Context, cond func() bool) error {
	if cond() {
		return nil
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if cond() {
				return nil
			}
		}
	}
}
