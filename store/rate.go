package store

import (
	"context"
	"time"
)

// WebhookRate paces the attempts sent to one rate-limited webhook, whichever replica
// sends them: TatMicros is the earliest time, in microseconds since the Unix epoch, at
// which the next attempt may start (a generic cell rate algorithm without burst). One
// row per webhook that was ever sent to under a limit.
type WebhookRate struct {
	WebhookID string `gorm:"primaryKey;size:64"`
	TatMicros int64  `gorm:"not null;default:0"`
}

// ReserveSend reserves, for an attempt to a webhook whose attempts must start at least
// interval apart, the earliest start after the attempts reserved before it, if that is
// within horizon of now: ok is then true and at is when to start it. Otherwise ok is
// false and at is when the earliest start is next within horizon. The reservation is
// one atomic statement, so replicas sharing the database never reserve the same start.
func (db *DB) ReserveSend(ctx context.Context, webhookID string, now time.Time, interval, horizon time.Duration) (at time.Time, ok bool, err error) {
	g := db.gorm.WithContext(ctx)
	if err := g.Exec(`INSERT INTO webhook_rates (webhook_id, tat_micros) VALUES (?, 0) ON CONFLICT (webhook_id) DO NOTHING`, webhookID).Error; err != nil {
		return time.Time{}, false, db.err(err)
	}
	n, iv := now.UnixMicro(), interval.Microseconds()
	var tat []int64
	if err := g.Raw(`UPDATE webhook_rates SET tat_micros = (CASE WHEN tat_micros < ? THEN ? ELSE tat_micros END) + ?
WHERE webhook_id = ? AND tat_micros <= ? RETURNING tat_micros`, n, n, iv, webhookID, n+horizon.Microseconds()).Scan(&tat).Error; err != nil {
		return time.Time{}, false, db.err(err)
	}
	if len(tat) == 1 {
		return time.UnixMicro(tat[0] - iv).UTC(), true, nil
	}
	var next int64
	if err := g.Raw(`SELECT tat_micros FROM webhook_rates WHERE webhook_id = ?`, webhookID).Scan(&next).Error; err != nil {
		return time.Time{}, false, db.err(err)
	}
	return time.UnixMicro(next).Add(-horizon).UTC(), false, nil
}
