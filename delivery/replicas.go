package delivery

import (
	"context"
	"time"
)

// Replicas. On PostgreSQL, where several processes share the database, each writes a
// heartbeat every Heartbeat, and each makes the claims of any replica silent for
// 5×Heartbeat due at once, so that a killed replica's attempts are made by another within
// seconds, not when its claims run out. A replica that is merely slow keeps beating, so
// its attempts are never taken from it; one whose database connection failed does not
// judge the others until it has written heartbeats again for as long, so that an outage
// shared by all does not make them take each other's claims.
//
// The same loop, on either backend, makes due again the held deliveries of webhooks that
// deliver again (enabled by their owner or by an operator), whichever way that happened.

// silence is how long a replica may go without a heartbeat before its claims are taken.
func (e *Engine) silence() time.Duration { return 5 * e.cfg.Heartbeat }

func (e *Engine) watchReplicas(ctx context.Context) {
	t := time.NewTicker(e.cfg.Heartbeat)
	defer t.Stop()
	shared := e.db.Shared()
	var beating time.Time // since when the heartbeats have been written without a failure
	for {
		if shared {
			now := e.clock.Now()
			if err := e.db.Heartbeat(ctx, e.replica, now); err != nil {
				beating = time.Time{}
				if ctx.Err() == nil {
					e.log.Warn("writing this process's heartbeat", "err", err)
				}
			} else {
				if beating.IsZero() {
					beating = now
				}
				if now.Sub(beating) >= e.silence() {
					if err := e.rescue(ctx, now.Add(-e.silence())); err != nil && ctx.Err() == nil {
						e.log.Error("releasing the claims of a stopped replica", "err", err)
					}
				}
			}
		}
		if err := e.releaseHeld(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("releasing held deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rescue makes the claims of the replicas silent since before due at once, then forgets
// those replicas.
func (e *Engine) rescue(ctx context.Context, before time.Time) error {
	silent, err := e.db.SilentReplicas(ctx, e.replica, before)
	if err != nil {
		return err
	}
	for _, id := range silent {
		n, err := e.db.ReleaseClaimsOf(ctx, id, e.now())
		if err != nil {
			return err
		}
		if n > 0 {
			e.log.Info("the claims of a replica that stopped are due again", "replica", id, "deliveries", n)
		}
		if err := e.db.ForgetReplica(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// releaseHeld makes due the held deliveries whose webhook delivers again.
func (e *Engine) releaseHeld(ctx context.Context) error {
	_, err := e.db.ReleaseHeld(ctx, e.now())
	return err
}
