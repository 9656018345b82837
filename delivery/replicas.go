package delivery

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/polyhook/polyhook/delivery/driver"
)

// Replicas. Where several processes share the database (driver.Driver.Shared), each
// writes a heartbeat every Heartbeat, and each makes the claims of any replica silent for
// 5×Heartbeat due at once, so that a killed replica's attempts are made by another within
// seconds, not when its claims run out. A replica that is merely slow keeps beating, so
// its attempts are never taken from it; one whose database connection failed does not
// judge the others until it has written heartbeats again for as long, so that an outage
// shared by all does not make them take each other's claims.

// heartbeat is the replica's part: it is started first and stopped last, so that it
// beats while the others drain, and forgets the replica once everything it claimed is
// recorded or handed back.
type heartbeat struct {
	db      driver.Driver
	clock   Clock
	log     *slog.Logger
	replica string
	every   time.Duration

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// silence is how long a replica may go without a heartbeat before its claims are taken.
func (h *heartbeat) silence() time.Duration { return 5 * h.every }

func (h *heartbeat) start(ctx context.Context) error {
	if !h.db.Shared() {
		return nil
	}
	ctx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.beat(ctx)
	}()
	return nil
}

// stop stops beating and removes this process's heartbeat: every claim it held is
// recorded or handed back by now, so nothing is left for another replica to rescue.
func (h *heartbeat) stop(context.Context) error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.db.ForgetReplica(ctx, h.replica); err != nil {
		h.log.Warn("removing this process's heartbeat", "err", err)
	}
	return nil
}

func (h *heartbeat) beat(ctx context.Context) {
	tick, stop := h.clock.Tick(h.every)
	defer stop()
	var beating time.Time // since when the heartbeats have been written without a failure
	for {
		now := h.clock.Now()
		if err := h.db.Heartbeat(ctx, h.replica, now); err != nil {
			beating = time.Time{}
			if ctx.Err() == nil {
				h.log.Warn("writing this process's heartbeat", "err", err)
			}
		} else {
			if beating.IsZero() {
				beating = now
			}
			if now.Sub(beating) >= h.silence() {
				if err := h.rescue(ctx, now.Add(-h.silence())); err != nil && ctx.Err() == nil {
					h.log.Error("releasing the claims of a stopped replica", "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// rescue makes the claims of the replicas silent since before due at once, then forgets
// those replicas.
func (h *heartbeat) rescue(ctx context.Context, before time.Time) error {
	silent, err := h.db.SilentReplicas(ctx, h.replica, before)
	if err != nil {
		return err
	}
	for _, id := range silent {
		n, err := h.db.ReleaseClaimsOf(ctx, id, h.clock.Now().UTC().Truncate(time.Millisecond))
		if err != nil {
			return err
		}
		if n > 0 {
			h.log.Info("the claims of a replica that stopped are due again", "replica", id, "deliveries", n)
		}
		if err := h.db.ForgetReplica(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
