package store

import (
	"context"
	"time"
)

// Claims. The process that publishes an event sends the first attempt of each delivery
// itself, at once, instead of through the job queue: it writes the delivery with
// ClaimedUntil set, and ends the claim when it records the attempt (Settle). Should the
// process die first, the claim runs out, and whichever process sweeps expired claims
// (ExpiredClaims, Unclaim) hands the delivery to the job queue. A delivery is thus
// always either claimed by one process or owned by the queue, never neither.

// Settle records what became of claimed deliveries: as[i], when not nil, is the attempt
// made for ds[i], which holds the delivery's new state. Each delivery is updated, and its
// claim ended, only while it is still claimed; held reports which ones were. Attempts are
// stored either way: they were made.
func (db *DB) Settle(ctx context.Context, ds []*Delivery, as []*Attempt) (held []bool, err error) {
	g := db.gorm.WithContext(ctx)
	now := db.Now()
	var made []*Attempt
	for _, a := range as {
		if a != nil {
			made = append(made, a)
		}
	}
	if len(made) > 0 {
		if err := g.CreateInBatches(made, 100).Error; err != nil {
			return nil, db.err(err)
		}
	}
	held = make([]bool, len(ds))
	for i, d := range ds {
		d.UpdatedAt, d.ClaimedUntil = now, nil
		// One fixed statement, prepared once: GORM's struct updates cost more than the
		// database's own work here.
		res := g.Exec(settleSQL, d.Status, d.Attempts, d.LastStatus, d.LastError, d.NextAttemptAt, d.UpdatedAt, d.DeliveredAt, d.ID)
		if res.Error != nil {
			return nil, db.err(res.Error)
		}
		held[i] = res.RowsAffected == 1
	}
	return held, nil
}

const settleSQL = `UPDATE deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?,
next_attempt_at = ?, updated_at = ?, delivered_at = ?, claimed_until = NULL
WHERE id = ? AND claimed_until IS NOT NULL`

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

// RenewClaims extends to until the claims on deliveries ids that have not run out, and
// returns the ids of those it extended: the others were settled, or taken by the sweep
// once they ran out.
func (db *DB) RenewClaims(ctx context.Context, ids []string, until time.Time) (map[string]bool, error) {
	renewed := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return renewed, nil
	}
	g := db.gorm.WithContext(ctx).Model(&Delivery{})
	// UpdateColumn: the delivery itself has not changed, so updated_at stays.
	res := g.Where("id IN ? AND claimed_until IS NOT NULL AND claimed_until > ?", ids, db.Now()).
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
	if err := db.gorm.WithContext(ctx).Model(&Delivery{}).Where("id IN ? AND claimed_until = ?", ids, until).
		Pluck("id", &got).Error; err != nil {
		return nil, db.err(err)
	}
	for _, id := range got {
		renewed[id] = true
	}
	return renewed, nil
}
