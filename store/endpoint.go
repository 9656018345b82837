package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// SetFailingSince records the start of a webhook's run of failures, unless a run has
// started already, and reports whether it started one: of several replicas recording a
// webhook's first failures at once, exactly one does.
func (db *DB) SetFailingSince(ctx context.Context, webhookID string, since time.Time) (bool, error) {
	res := db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id = ? AND failing_since IS NULL", webhookID).
		Update("failing_since", since)
	return res.RowsAffected == 1, db.err(res.Error)
}

// MarkHealthy ends the runs of failures of the given webhooks and returns the ids of
// those it ended: those without one are not written, nor returned.
func (db *DB) MarkHealthy(ctx context.Context, webhookIDs []string) ([]string, error) {
	if len(webhookIDs) == 0 {
		return nil, nil
	}
	var ended []string
	// RETURNING (PostgreSQL, SQLite 3.35+) names the rows this statement changed, so that
	// of replicas ending the same run at once exactly one is told it did.
	err := db.gorm.WithContext(ctx).Raw("UPDATE webhooks SET failing_since = NULL WHERE id IN ? AND failing_since IS NOT NULL RETURNING id",
		webhookIDs).Scan(&ended).Error
	if err != nil {
		return nil, db.err(err)
	}
	if len(ended) > 0 {
		db.webhookWrites.Add(1) // a raw query's rows are not counted by the callbacks
	}
	return ended, nil
}

// DisableWebhook takes a webhook out of delivery, with the reason shown to operators. Its
// pending deliveries are kept.
func (db *DB) DisableWebhook(ctx context.Context, id, reason string) error {
	now := db.Now()
	return db.err(db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id = ?", id).Updates(map[string]any{
		"disabled_at": now, "disabled_reason": reason,
	}).Error)
}

// DisableOnce is DisableWebhook for a webhook not disabled yet: one already disabled
// keeps its time and reason. It reports whether this call disabled it, so that of
// replicas disabling the same webhook at once exactly one is told it did.
func (db *DB) DisableOnce(ctx context.Context, id, reason string) (bool, error) {
	res := db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id = ? AND disabled_at IS NULL", id).Updates(map[string]any{
		"disabled_at": db.Now(), "disabled_reason": reason,
	})
	return res.RowsAffected == 1, db.err(res.Error)
}

// DisabledWebhooks counts the webhooks the gateway stopped delivering to.
func (db *DB) DisabledWebhooks(ctx context.Context) (int64, error) {
	var n int64
	err := db.gorm.WithContext(ctx).Model(&Webhook{}).Where("disabled_at IS NOT NULL").Count(&n).Error
	return n, db.err(err)
}

// EnableWebhook puts a disabled webhook back into delivery and forgets its failures.
// Returns ENOTFOUND when there is no such webhook.
func (db *DB) EnableWebhook(ctx context.Context, id string) error {
	res := db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id = ?", id).Updates(map[string]any{
		"disabled_at": nil, "disabled_reason": "", "failing_since": nil,
	})
	if res.Error != nil {
		return db.err(res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "Webhook not found.")
	}
	return nil
}

// PauseWebhook pauses a webhook from at: new events still make its deliveries, and they
// and its pending ones wait, held and unattempted, until it is resumed. Pausing a paused
// webhook keeps the time it was paused first. Returns ENOTFOUND when there is no such
// webhook.
func (db *DB) PauseWebhook(ctx context.Context, id string, at time.Time) error {
	res := db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id = ?", id).
		Update("paused_at", gorm.Expr("COALESCE(paused_at, ?)", at))
	if res.Error != nil {
		return db.err(res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "Webhook not found.")
	}
	return nil
}

// ResumeWebhook ends a webhook's pause; what waited is released by ReleaseHeld. Returns
// ENOTFOUND when there is no such webhook.
func (db *DB) ResumeWebhook(ctx context.Context, id string) error {
	res := db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id = ?", id).Update("paused_at", nil)
	if res.Error != nil {
		return db.err(res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "Webhook not found.")
	}
	return nil
}
