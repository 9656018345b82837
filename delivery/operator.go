package delivery

import (
	"context"
	"time"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/store"
)

// What operators ask of deliveries: retry one, recover a webhook's failed ones.

// Retry makes a finished delivery pending again, due now. Returns ENOTFOUND for an
// unknown delivery and ECONFLICT when it is pending already.
func (e *Engine) Retry(ctx context.Context, deliveryID string) (*store.Delivery, error) {
	return e.db.Requeue(ctx, deliveryID, e.now())
}

// Pause pauses a webhook of any dialect: new events still make its deliveries, which
// wait with its pending ones, unattempted, until Resume. Returns ENOTFOUND for an unknown
// webhook.
func (e *Engine) Pause(ctx context.Context, webhookID string) error {
	return e.db.PauseWebhook(ctx, webhookID, e.now())
}

// Resume ends a webhook's pause and makes what waited due at once (unless the webhook is
// disabled, which keeps it held). Returns ENOTFOUND for an unknown webhook.
func (e *Engine) Resume(ctx context.Context, webhookID string) error {
	if err := e.db.ResumeWebhook(ctx, webhookID); err != nil {
		return err
	}
	_, err := e.db.ReleaseHeld(ctx, e.now())
	return err
}

// Circuit is an endpoint's breaker as every replica sees it (breaker.go): State is
// store.CircuitClosed, CircuitOpen (no attempt until Until) or CircuitHalfOpen (the
// pause is over: one probe goes, or is out, before the rest).
type Circuit struct {
	State string
	// Until is the end of the pause, set while open.
	Until *time.Time
}

// maxCircuits bounds the webhooks one Circuits call reads.
const maxCircuits = 1000

// Circuits returns the circuits of webhooks, by id: closed for those with no breaker
// open, unknown ones included.
func (e *Engine) Circuits(ctx context.Context, webhookIDs []string) (map[string]Circuit, error) {
	if len(webhookIDs) > maxCircuits {
		return nil, store.Errorf(store.EINVALID, "At most %d webhooks at once.", maxCircuits)
	}
	bs, err := e.db.BreakersOf(ctx, webhookIDs)
	if err != nil {
		return nil, err
	}
	now := e.clock.Now()
	out := make(map[string]Circuit, len(webhookIDs))
	for _, id := range webhookIDs {
		c := Circuit{State: bs[id].State(now)}
		if c.State == store.CircuitOpen {
			until := bs[id].Until()
			c.Until = &until
		}
		out[id] = c
	}
	return out, nil
}

// Recover starts re-sending every failed delivery of a webhook created since a time, as a
// background job; follow it with the store's GetRecovery. Returns ENOTFOUND for an
// unknown webhook and ECONFLICT for a disabled one (enable it first).
func (e *Engine) Recover(ctx context.Context, webhookID string, since time.Time) (*store.Recovery, error) {
	return e.RecoverWith(ctx, webhookID, since, RecoverOptions{})
}

// RecoverOptions changes what a recovery re-sends.
type RecoverOptions struct {
	// IncludeRetrying also sends now the deliveries since the time that are still
	// retrying, waiting for their next attempt (those being sent are left alone).
	IncludeRetrying bool
}

// RecoverWith is Recover with options.
func (e *Engine) RecoverWith(ctx context.Context, webhookID string, since time.Time, opts RecoverOptions) (*store.Recovery, error) {
	w, err := e.db.WebhookByID(ctx, webhookID)
	if err != nil {
		return nil, err
	}
	if w.DisabledAt != nil {
		return nil, store.Errorf(store.ECONFLICT, "The webhook is disabled (%s); enable it first.", w.DisabledReason)
	}
	r := &store.Recovery{ID: NewID("rec_"), WebhookID: w.ID, Since: since.UTC(), IncludeRetrying: opts.IncludeRetrying}
	err = e.db.InTx(ctx, func(tx driver.Executor) error {
		if err := tx.CreateRecovery(ctx, r); err != nil {
			return err
		}
		return e.queue.InsertTx(ctx, tx, recoverArgs{RecoveryID: r.ID})
	})
	return r, err
}

// recoverBatch is how many deliveries one recovery step makes due again.
const recoverBatch = 200

// recover carries out a recovery in batches, each made due again in one transaction with
// the recovery's progress; a crash resumes where it stopped, since those deliveries are no
// longer failed.
func (e *Engine) recover(ctx context.Context, id string) error {
	r, err := e.db.GetRecovery(ctx, id)
	if err != nil || r.Status == store.RecoveryDone {
		return err
	}
	for {
		ds, err := e.db.FailedDeliveries(ctx, r.WebhookID, r.Since, recoverBatch)
		if err != nil {
			return err
		}
		err = e.db.InTx(ctx, func(tx driver.Executor) error {
			n := int64(0)
			for _, d := range ds {
				if _, err := tx.Requeue(ctx, d.ID, e.now()); err == nil {
					n++
				} else if store.ErrorCode(err) != store.ECONFLICT {
					return err
				}
			}
			return tx.AdvanceRecovery(ctx, id, n, len(ds) < recoverBatch && !r.IncludeRetrying)
		})
		if err != nil {
			return err
		}
		if len(ds) < recoverBatch {
			break
		}
	}
	if !r.IncludeRetrying {
		return nil
	}
	// Deliveries still retrying are due later: bring their next attempt forward rather
	// than send them again beside it.
	for {
		ids, err := e.db.WaitingDeliveries(ctx, r.WebhookID, r.Since, r.CreatedAt, recoverBatch)
		if err != nil {
			return err
		}
		if err := e.db.AttemptAt(ctx, ids, e.now()); err != nil {
			return err
		}
		if len(ids) < recoverBatch {
			return e.db.AdvanceRecovery(ctx, id, 0, true)
		}
	}
}
