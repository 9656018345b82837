package delivery

import (
	"context"
	"time"

	"github.com/polyhook/polyhook/store"
)

// Replicas. On PostgreSQL, where several processes share the database, each writes a
// heartbeat every Heartbeat, and each hands the claims of any replica silent for
// 5×Heartbeat to the queue, so that a killed replica's attempts are made by another within
// seconds, not when its claims run out. A replica that is merely slow keeps beating, so
// its attempts are never taken from it; one whose database connection failed does not
// judge the others until it has written heartbeats again for as long, so that an outage
// shared by all does not make them take each other's claims.
//
// The same loop, on either backend, queues again the held deliveries of webhooks that
// deliver again (enabled by their owner or by an operator), whichever way that happened.

// silence is how long a replica may go without a heartbeat before its claims are taken.
func (e *Engine) silence() time.Duration { return 5 * e.cfg.Heartbeat }

func (e *Engine) watchReplicas(ctx context.Context) {
	t := time.NewTicker(e.cfg.Heartbeat)
	defer t.Stop()
	shared := e.db.Backend() == store.BackendPostgres
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
						e.log.Error("queueing the claims of a stopped replica", "err", err)
					}
				}
			}
		}
		if err := e.releaseHeld(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("queueing held deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rescue hands the claims of the replicas silent since before to the queue, then
// forgets those replicas.
func (e *Engine) rescue(ctx context.Context, before time.Time) error {
	silent, err := e.db.SilentReplicas(ctx, e.replica, before)
	if err != nil {
		return err
	}
	for _, id := range silent {
		total := 0
		for {
			ds, err := e.db.ClaimsOf(ctx, id, sweepBatch)
			if err != nil {
				return err
			}
			n, err := e.requeue(ctx, ds, func(tx *store.DB, d store.Delivery) (bool, error) {
				return tx.UnclaimOf(ctx, d.ID, id)
			})
			if err != nil {
				return err
			}
			total += n
			if len(ds) < sweepBatch {
				break
			}
		}
		if total > 0 {
			e.log.Info("queued the claims of a replica that stopped", "replica", id, "deliveries", total)
		}
		if err := e.db.ForgetReplica(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// releaseHeld queues the held deliveries whose webhook delivers again.
func (e *Engine) releaseHeld(ctx context.Context) error {
	for {
		ds, err := e.db.ReleasableHeld(ctx, sweepBatch)
		if err != nil || len(ds) == 0 {
			return err
		}
		if _, err := e.requeue(ctx, ds, func(tx *store.DB, d store.Delivery) (bool, error) {
			return tx.Unhold(ctx, d.ID)
		}); err != nil {
			return err
		}
		if len(ds) < sweepBatch {
			return nil
		}
	}
}
