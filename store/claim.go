package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// Claims. Every attempt of a delivery is made under a claim: the process that publishes
// an event claims its deliveries in the publishing transaction, and a queued delivery is
// claimed by the process whose job picks it up (ClaimQueued). The claim ends when the
// attempt is recorded (Settle). Should the process die first, its claims are handed to
// the job queue by whichever process notices: at once when its heartbeat stops
// (ClaimsOf, UnclaimOf), at the latest when the claim runs out (ExpiredClaims, Unclaim).
// A delivery is thus always either claimed by one process, owned by the queue, or held
// for its disabled webhook, never none of them.

// Settle records what became of claimed deliveries: as[i], when not nil, is the attempt
// made for ds[i], which holds the delivery's new state. Each delivery is updated, and its
// claim ended, only while ds[i].ClaimedBy still holds it; held reports which ones were.
// Attempts are stored either way: they were made.
func (db *DB) Settle(ctx context.Context, ds []*Delivery, as []*Attempt) (held []bool, err error) {
	now := db.Now()
	held = make([]bool, len(ds))
	var sts []statement
	for _, a := range as {
		if a != nil {
			st, err := insertAttempt(a)
			if err != nil {
				return nil, db.err(err)
			}
			sts = append(sts, st)
		}
	}
	first := len(sts)
	for _, d := range ds {
		// Only a held delivery writes held_at, so that the others leave its index alone;
		// claimed_by means nothing once claimed_until is NULL, and is left as it is. The
		// claim is matched on its holder, d.ClaimedBy, which is cleared only once this
		// commits, so that a batch tried again still matches.
		if d.HeldAt == nil {
			sts = append(sts, statement{settleSQL, []any{d.Status, d.Attempts, d.LastStatus, d.LastError, d.NextAttemptAt, now,
				d.DeliveredAt, d.ID, d.ClaimedBy}})
		} else {
			sts = append(sts, statement{holdSQL, []any{d.Status, d.Attempts, d.LastStatus, d.LastError, now, d.HeldAt, d.ID, d.ClaimedBy}})
		}
	}
	n, err := db.execAll(ctx, sts)
	if err != nil {
		return nil, db.err(err)
	}
	for i := range ds {
		held[i] = n[first+i] == 1
	}
	for _, d := range ds {
		d.UpdatedAt, d.ClaimedUntil, d.ClaimedBy = now, nil, ""
	}
	return held, nil
}

const (
	settleSQL = `UPDATE deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?,
next_attempt_at = ?, updated_at = ?, delivered_at = ?, claimed_until = NULL
WHERE id = ? AND claimed_until IS NOT NULL AND claimed_by = ?`
	holdSQL = `UPDATE deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?,
next_attempt_at = NULL, updated_at = ?, held_at = ?, claimed_until = NULL
WHERE id = ? AND claimed_until IS NOT NULL AND claimed_by = ?`
)

// ClaimQueued claims a queued delivery for owner until a time, for the attempt its job
// asks for, and returns it; nil when it is not pending, is claimed already or is held
// (its job was a duplicate, or an operator finished it).
func (db *DB) ClaimQueued(ctx context.Context, id, owner string, until time.Time) (*Delivery, error) {
	res := db.gorm.WithContext(ctx).Exec(`UPDATE deliveries SET claimed_until = ?, claimed_by = ?
WHERE id = ? AND status = ? AND claimed_until IS NULL AND held_at IS NULL`, until, owner, id, DeliveryPending)
	if res.Error != nil {
		return nil, db.err(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, nil
	}
	return db.GetDelivery(ctx, id)
}

// DueDeliveries returns up to limit pending deliveries whose next attempt is due at now
// and that no claim, job or hold has, but for those to exceptWebhooks: the attempts the
// engine's poll claims (ClaimDue).
// Oldest due first.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int, exceptWebhooks []string) ([]Delivery, error) {
	var ds []Delivery
	q := db.gorm.WithContext(ctx).
		Where("next_attempt_at IS NOT NULL AND next_attempt_at <= ? AND status = ? AND claimed_until IS NULL AND held_at IS NULL",
			now, DeliveryPending)
	if len(exceptWebhooks) > 0 {
		q = q.Where("webhook_id NOT IN ?", exceptWebhooks)
	}
	err := q.Order("next_attempt_at ASC").Limit(limit).Find(&ds).Error
	return ds, db.err(err)
}

// ClaimDue claims, for owner until a time, those of ds (from DueDeliveries) that are
// still pending and unclaimed, and returns them as claimed; it moves the next attempt
// of those in postpone (by id) to the time given. On PostgreSQL another replica may claim
// some first: each delivery is claimed by one only.
func (db *DB) ClaimDue(ctx context.Context, ds []Delivery, postpone map[string]time.Time, owner string, until time.Time) ([]Delivery, error) {
	if len(ds) == 0 && len(postpone) == 0 {
		return nil, nil
	}
	var sts []statement
	for id, at := range postpone {
		sts = append(sts, statement{postponeSQL, []any{at, id, DeliveryPending}})
	}
	first := len(sts)
	for _, d := range ds {
		sts = append(sts, statement{claimDueSQL, []any{until, owner, d.ID, DeliveryPending}})
	}
	n, err := db.execAll(ctx, sts)
	if err != nil {
		return nil, db.err(err)
	}
	var claimed []Delivery
	for i, d := range ds {
		if n[first+i] == 1 {
			d.ClaimedUntil, d.ClaimedBy = &until, owner
			claimed = append(claimed, d)
		}
	}
	return claimed, nil
}

const (
	claimDueSQL = `UPDATE deliveries SET claimed_until = ?, claimed_by = ?
WHERE id = ? AND status = ? AND claimed_until IS NULL AND held_at IS NULL`
	postponeSQL = `UPDATE deliveries SET next_attempt_at = ?
WHERE id = ? AND status = ? AND claimed_until IS NULL`
)

// ExpiredClaims returns up to limit deliveries whose claims ran out before t.
func (db *DB) ExpiredClaims(ctx context.Context, before time.Time, limit int) ([]Delivery, error) {
	var ds []Delivery
	err := db.gorm.WithContext(ctx).Where("claimed_until IS NOT NULL AND claimed_until < ?", before).
		Order("claimed_until ASC").Limit(limit).Find(&ds).Error
	return ds, db.err(err)
}

// Unclaim ends a delivery's claim if it ran out before t, and reports whether it did: the
// caller then owns the delivery and must queue it in the same transaction.
func (db *DB) Unclaim(ctx context.Context, id string, before time.Time) (bool, error) {
	res := db.gorm.WithContext(ctx).Model(&Delivery{}).
		Where("id = ? AND claimed_until IS NOT NULL AND claimed_until < ?", id, before).
		Updates(map[string]any{"claimed_until": nil, "updated_at": db.Now()})
	return res.RowsAffected == 1, db.err(res.Error)
}

// ClaimsOf returns up to limit deliveries claimed by a replica.
func (db *DB) ClaimsOf(ctx context.Context, replica string, limit int) ([]Delivery, error) {
	var ds []Delivery
	err := db.gorm.WithContext(ctx).Where("claimed_by = ? AND claimed_until IS NOT NULL", replica).
		Limit(limit).Find(&ds).Error
	return ds, db.err(err)
}

// UnclaimOf ends a delivery's claim if replica still holds it, and reports whether it
// did: the caller then owns the delivery and must queue it in the same transaction.
func (db *DB) UnclaimOf(ctx context.Context, id, replica string) (bool, error) {
	res := db.gorm.WithContext(ctx).Model(&Delivery{}).
		Where("id = ? AND claimed_until IS NOT NULL AND claimed_by = ?", id, replica).
		Updates(map[string]any{"claimed_until": nil, "updated_at": db.Now()})
	return res.RowsAffected == 1, db.err(res.Error)
}

// RenewClaims extends to until the claims owner holds on deliveries ids that have not run
// out, and returns the ids of those it extended: the others were settled, or taken by the
// sweep or a rescue (and maybe claimed again, by another replica).
func (db *DB) RenewClaims(ctx context.Context, owner string, ids []string, until time.Time) (map[string]bool, error) {
	renewed := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return renewed, nil
	}
	g := db.gorm.WithContext(ctx).Model(&Delivery{})
	// UpdateColumn: the delivery itself has not changed, so updated_at stays.
	res := g.Where("id IN ? AND claimed_until IS NOT NULL AND claimed_until > ? AND claimed_by = ?", ids, db.Now(), owner).
		UpdateColumn("claimed_until", until)
	if res.Error != nil {
		return nil, db.err(res.Error)
	}
	if int(res.RowsAffected) == len(ids) {
		for _, id := range ids {
			renewed[id] = true
		}
		return renewed, nil
	}
	var got []string
	if err := db.gorm.WithContext(ctx).Model(&Delivery{}).Where("id IN ? AND claimed_until = ? AND claimed_by = ?", ids, until, owner).
		Pluck("id", &got).Error; err != nil {
		return nil, db.err(err)
	}
	for _, id := range got {
		renewed[id] = true
	}
	return renewed, nil
}

// ReleasableHeld returns up to limit held deliveries whose webhook delivers again: it is
// enabled and not disabled by the gateway. Held deliveries whose webhook was deleted are
// cancelled on the way.
func (db *DB) ReleasableHeld(ctx context.Context, limit int) ([]Delivery, error) {
	g := db.gorm.WithContext(ctx)
	if err := g.Model(&Delivery{}).
		Where("held_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = deliveries.webhook_id)").
		Updates(map[string]any{"held_at": nil, "status": DeliveryCancelled, "last_error": "The webhook was deleted.",
			"next_attempt_at": nil, "updated_at": db.Now()}).Error; err != nil {
		return nil, db.err(err)
	}
	var ds []Delivery
	err := g.Where(`held_at IS NOT NULL AND EXISTS (SELECT 1 FROM webhooks w WHERE w.id = deliveries.webhook_id
AND w.enabled = ? AND w.disabled_at IS NULL)`, true).Order("held_at ASC").Limit(limit).Find(&ds).Error
	return ds, db.err(err)
}

// Unhold ends a delivery's hold, and reports whether it did: the caller then owns the
// delivery and must queue it in the same transaction.
func (db *DB) Unhold(ctx context.Context, id string) (bool, error) {
	res := db.gorm.WithContext(ctx).Model(&Delivery{}).Where("id = ? AND held_at IS NOT NULL", id).
		Updates(map[string]any{"held_at": nil, "updated_at": db.Now()})
	return res.RowsAffected == 1, db.err(res.Error)
}

// Replica is one running gateway process, known by the heartbeat it writes.
type Replica struct {
	ID     string    `gorm:"primaryKey;size:64"`
	SeenAt time.Time `gorm:"not null;index"`
}

// Heartbeat records that a replica is alive at a time.
func (db *DB) Heartbeat(ctx context.Context, id string, at time.Time) error {
	return db.err(db.gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"seen_at"}),
	}).Create(&Replica{ID: id, SeenAt: at}).Error)
}

// SilentReplicas returns the replicas, other than self, last seen before a time.
func (db *DB) SilentReplicas(ctx context.Context, self string, before time.Time) ([]string, error) {
	var ids []string
	err := db.gorm.WithContext(ctx).Model(&Replica{}).Where("id <> ? AND seen_at < ?", self, before).Pluck("id", &ids).Error
	return ids, db.err(err)
}

// ForgetReplica removes a replica's heartbeat: it stopped, and holds no claim.
func (db *DB) ForgetReplica(ctx context.Context, id string) error {
	return db.err(db.gorm.WithContext(ctx).Where("id = ?", id).Delete(&Replica{}).Error)
}
