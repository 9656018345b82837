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
	return db.healthWrite(ctx, statement{setFailingSQL, []any{since, db.Now(), webhookID}})
}

// The writes of a webhook's health that recording attempts makes in its transaction are
// hot statements, never GORM's. On SQLite GORM's statement cache keeps its lock while a
// query waits for another query's first preparation, which waits for the one
// connection; the recording transaction, holding it, then waited for that lock to
// prepare a statement of its own, and the gateway stopped (TestTransactions_*); they
// are prepared once, when the store opens.
const (
	setFailingSQL  = `UPDATE webhooks SET failing_since = ?, updated_at = ? WHERE id = ? AND failing_since IS NULL`
	disableOnceSQL = `UPDATE webhooks SET disabled_at = ?, disabled_reason = ?, updated_at = ? WHERE id = ? AND disabled_at IS NULL`
)

// healthWrite runs one write of a webhook's health, and reports whether it changed the
// webhook.
func (db *DB) healthWrite(ctx context.Context, st statement) (bool, error) {
	n, err := db.execAll(ctx, []statement{st})
	if err != nil {
		return false, db.err(err)
	}
	if n[0] == 1 {
		db.webhookWrites.Add(1) // a hot statement's rows are not counted by the callbacks
	}
	return n[0] == 1, nil
}

// MarkHealthy ends the runs of failures of the given webhooks and returns the ids of
// those it ended: those without one are not written, nor returned.
func (db *DB) MarkHealthy(ctx context.Context, webhookIDs []string) ([]string, error) {
	if len(webhookIDs) == 0 {
		return nil, nil
	}
	marks := make([]HealthMark, len(webhookIDs))
	for i, id := range webhookIDs {
		marks[i].WebhookID = id
	}
	sts, at := db.healthStatements(nil, marks, db.Now())
	n, err := db.execAll(ctx, sts)
	if err != nil {
		return nil, db.err(err)
	}
	return db.endedRuns(marks, at, n), nil
}

// healthStatements appends to sts the statements that end the marks' runs of failures,
// one per webhook (and the notice of its recovery where the mark has one), and returns
// them with, for each mark, the statement whose rows changed say whether it ended the
// run: of replicas ending the same run at once, exactly one is told it did.
func (db *DB) healthStatements(sts []statement, marks []HealthMark, now time.Time) ([]statement, []int) {
	at := make([]int, len(marks))
	for i, m := range marks {
		switch {
		case m.Recovered == nil:
			sts = append(sts, statement{markHealthySQL, []any{m.WebhookID}})
		case db.backend == BackendPostgres:
			sts = append(sts, statement{recoveredSQL, append([]any{m.WebhookID}, m.Recovered.args(now)...)})
		default:
			sts = append(sts, statement{insertRecoveredSQL, append(m.Recovered.args(now), m.WebhookID)},
				statement{markHealthySQL, []any{m.WebhookID}})
		}
		at[i] = len(sts) - 1
	}
	return sts, at
}

// endedRuns returns the webhooks of marks whose runs the statements at at ended, by the
// rows each changed (n), in the marks' order, and counts the webhook write.
func (db *DB) endedRuns(marks []HealthMark, at []int, n []int64) []string {
	var ended []string
	for i, m := range marks {
		if n[at[i]] == 1 {
			ended = append(ended, m.WebhookID)
		}
	}
	if len(ended) > 0 {
		db.webhookWrites.Add(1) // a hot statement's rows are not counted by the callbacks
	}
	return ended
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
	now := db.Now()
	return db.healthWrite(ctx, statement{disableOnceSQL, []any{now, reason, now, id}})
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
