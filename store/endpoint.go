package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// SetFailingSince records the start of a webhook's run of failures, unless a run has
// started already.
func (db *DB) SetFailingSince(ctx context.Context, webhookID string, since time.Time) error {
	return db.err(db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id = ? AND failing_since IS NULL", webhookID).
		Update("failing_since", since).Error)
}

// MarkHealthy ends the runs of failures of the given webhooks. Those without one are not
// written.
func (db *DB) MarkHealthy(ctx context.Context, webhookIDs []string) error {
	if len(webhookIDs) == 0 {
		return nil
	}
	return db.err(db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id IN ? AND failing_since IS NOT NULL", webhookIDs).
		Update("failing_since", nil).Error)
}

// DisableWebhook takes a webhook out of delivery, with the reason shown to operators. Its
// pending deliveries are kept.
func (db *DB) DisableWebhook(ctx context.Context, id, reason string) error {
	now := db.Now()
	return db.err(db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id = ?", id).Updates(map[string]any{
		"disabled_at": now, "disabled_reason": reason,
	}).Error)
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
