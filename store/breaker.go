package store

import (
	"context"
	"time"
)

// WebhookBreaker is an endpoint's open circuit breaker, shared by every replica: while a
// row exists no replica attempts the endpoint until UntilMicros (microseconds since the
// Unix epoch), and after that only the one replica that wins the probe (ProbeBreaker)
// does, until its probe answers: a success deletes the row (closed), a failure opens it
// again for longer (ReopenBreaker). No row means closed.
type WebhookBreaker struct {
	WebhookID string `gorm:"primaryKey;size:64"`
	// OpenedAt is when the breaker opened, its pauses since included.
	OpenedAt time.Time `gorm:"not null"`
	// UntilMicros is the end of the current pause; PauseMS is its length.
	UntilMicros int64 `gorm:"not null"`
	PauseMS     int64 `gorm:"not null"`
	// ProbeUntilMicros, when not 0, is how long the probe given to Prober (a delivery) may
	// be out before another may be given.
	ProbeUntilMicros int64  `gorm:"not null;default:0"`
	Prober           string `gorm:"size:64;not null;default:''"`
}

// Until is the end of the current pause.
func (b *WebhookBreaker) Until() time.Time { return time.UnixMicro(b.UntilMicros).UTC() }

// Pause is the current pause's length.
func (b *WebhookBreaker) Pause() time.Duration { return time.Duration(b.PauseMS) * time.Millisecond }

// ProbeOut reports whether a probe is out at now.
func (b *WebhookBreaker) ProbeOut(now time.Time) bool {
	return b.ProbeUntilMicros != 0 && now.UnixMicro() < b.ProbeUntilMicros
}

// Circuit states, as GET /v1/webhooks/{id} shows them.
const (
	CircuitClosed   = "closed"
	CircuitOpen     = "open"
	CircuitHalfOpen = "half-open"
)

// State is the circuit's state at now: open while paused, half-open once the pause is
// over (a probe is out or about to be), closed for no breaker.
func (b *WebhookBreaker) State(now time.Time) string {
	switch {
	case b == nil:
		return CircuitClosed
	case now.UnixMicro() < b.UntilMicros:
		return CircuitOpen
	}
	return CircuitHalfOpen
}

// OpenBreaker opens a webhook's breaker at at for pause, unless it is open already (another
// replica opened it first): opened says whether this call opened it, and b is the breaker
// as it is now.
func (db *DB) OpenBreaker(ctx context.Context, webhookID string, at time.Time, pause time.Duration) (b *WebhookBreaker, opened bool, err error) {
	g := db.gorm.WithContext(ctx)
	res := g.Exec(`INSERT INTO webhook_breakers (webhook_id, opened_at, until_micros, pause_ms, probe_until_micros, prober)
VALUES (?, ?, ?, ?, 0, '') ON CONFLICT (webhook_id) DO NOTHING`, webhookID, at.UTC(), at.Add(pause).UnixMicro(), pause.Milliseconds())
	if res.Error != nil {
		return nil, false, db.err(res.Error)
	}
	opened = res.RowsAffected == 1
	if opened {
		if err := db.deferDue(ctx, webhookID, at.Add(pause)); err != nil {
			return nil, false, err
		}
	}
	var rows []WebhookBreaker
	if err := g.Where("webhook_id = ?", webhookID).Limit(1).Find(&rows).Error; err != nil {
		return nil, false, db.err(err)
	}
	if len(rows) == 0 { // closed again in between
		return nil, opened, nil
	}
	return &rows[0], opened, nil
}

// deferDue makes a webhook's deliveries that are due, or come due, before until (when its
// breaker's pause ends) due at until, and sees that one is due then, for the probe.
// Left due, they would be in every look for due deliveries until the probe answers,
// each look reading past all of them to the others' (the look leaves out the open
// breakers' webhooks, but the due index is by time alone): a failing endpoint's backlog,
// 500 a second, cost every look for the healthy ones 14 ms at 5,000, on the connection
// every publish waits for. Due at until, they are past the end of each look's range.
//
// They are few: the deliveries published while the breaker is open are held (held_at),
// not due, and stay out of this (moving a backlog of 4,000 took 16 ms each time the
// breaker opened again, and it grew with the backlog); the breaker's close releases
// them (CloseBreaker). Those due here are the attempts that failed as it opened, the
// probe's, and those handed back meanwhile. When none is, the newest held delivery is
// made due at until, so that a probe goes without waiting for a new event.
func (db *DB) deferDue(ctx context.Context, webhookID string, until time.Time) error {
	g := db.gorm.WithContext(ctx)
	const pendingDue = `next_attempt_at IS NOT NULL AND next_attempt_at < ? AND webhook_id = ? AND status = ? AND claimed_until IS NULL`
	res := g.Exec(`UPDATE `+db.dueTable+` SET next_attempt_at = ? WHERE `+pendingDue, until, until, webhookID, DeliveryPending)
	if res.Error != nil {
		return db.err(res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	return db.ensureProbe(ctx, webhookID, until)
}

// ensureProbe is probeHeld for a webhook not read yet: only one that delivers and has no
// lanes (another's deliveries are held for its pause or its disabling, and an ordered
// one's are left due by the publish).
func (db *DB) ensureProbe(ctx context.Context, webhookID string, until time.Time) error {
	var ordered []bool
	if err := db.gorm.WithContext(ctx).Raw(`SELECT w.ordered FROM webhooks w WHERE w.id = ? AND `+webhookDelivers,
		webhookID, true).Scan(&ordered).Error; err != nil || len(ordered) == 0 || ordered[0] {
		return db.err(err)
	}
	return db.probeHeld(ctx, webhookID, until)
}

// probeHeld sees that one of a webhook's deliveries is due at until at the latest, for its
// breaker's probe: when none is, its newest held one is made due then. Without it an
// endpoint whose backlog is all held would be probed only when a new event came.
func (db *DB) probeHeld(ctx context.Context, webhookID string, until time.Time) error {
	g := db.gorm.WithContext(ctx)
	var due []string
	if err := g.Raw(`SELECT id FROM `+db.dueTable+` WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? AND webhook_id = ?
AND status = ? AND claimed_until IS NULL LIMIT 1`, until, webhookID, DeliveryPending).Scan(&due).Error; err != nil || len(due) > 0 {
		return db.err(err)
	}
	err := g.Exec(`UPDATE deliveries SET held_at = NULL, next_attempt_at = ? WHERE id IN (
SELECT id FROM deliveries WHERE held_at IS NOT NULL AND webhook_id = ? ORDER BY held_at DESC LIMIT 1)`,
		until, webhookID).Error
	return db.err(err)
}

// ProbeBreaker gives the probe of a webhook whose breaker's pause is over to a delivery,
// for up to limit, unless another's probe is out: one statement, so that of replicas
// asking at once one only wins. It returns the breaker when the delivery has the probe,
// nil otherwise (the probe is another's, the pause is not over, or the breaker closed).
func (db *DB) ProbeBreaker(ctx context.Context, webhookID, deliveryID string, now time.Time, limit time.Duration) (*WebhookBreaker, error) {
	n := now.UnixMicro()
	var rows []WebhookBreaker
	err := db.gorm.WithContext(ctx).Raw(`UPDATE webhook_breakers SET probe_until_micros = ?, prober = ?
WHERE webhook_id = ? AND until_micros <= ? AND (probe_until_micros <= ? OR prober = ?)
RETURNING webhook_id, opened_at, until_micros, pause_ms, probe_until_micros, prober`,
		now.Add(limit).UnixMicro(), deliveryID, webhookID, n, n, deliveryID).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, db.err(err)
	}
	return &rows[0], nil
}

// ReopenBreaker opens a webhook's breaker again, until at with pause as its length, when
// the probe that failed was prober's: reopened says whether it was.
func (db *DB) ReopenBreaker(ctx context.Context, webhookID, prober string, until time.Time, pause time.Duration) (reopened bool, err error) {
	res := db.gorm.WithContext(ctx).Exec(`UPDATE webhook_breakers SET until_micros = ?, pause_ms = ?, probe_until_micros = 0, prober = ''
WHERE webhook_id = ? AND prober = ?`, until.UnixMicro(), pause.Milliseconds(), webhookID, prober)
	if res.Error != nil {
		return false, db.err(res.Error)
	}
	if res.RowsAffected != 1 {
		return false, nil
	}
	return true, db.deferDue(ctx, webhookID, until)
}

// CloseBreaker closes a webhook's breaker at at: the endpoint answered. closed says whether
// it was open. The deliveries held while it was open are due at at (unless the webhook is
// paused or disabled meanwhile, which keeps them held; cancelled if it was deleted).
func (db *DB) CloseBreaker(ctx context.Context, webhookID string, at time.Time) (closed bool, err error) {
	res := db.gorm.WithContext(ctx).Where("webhook_id = ?", webhookID).Delete(&WebhookBreaker{})
	if res.Error != nil {
		return false, db.err(res.Error)
	}
	if _, err := db.releaseHeldOf(ctx, []string{webhookID}, at); err != nil {
		return res.RowsAffected == 1, err
	}
	return res.RowsAffected == 1, nil
}

// maxOpenBreakers bounds the breakers OpenBreakers reads.
const maxOpenBreakers = 10000

// OpenBreakers returns the open breakers (at most maxOpenBreakers, those that end first),
// however far their pause is: what a replica must know to leave their endpoints alone.
func (db *DB) OpenBreakers(ctx context.Context) ([]WebhookBreaker, error) {
	var rows []WebhookBreaker
	err := db.gorm.WithContext(ctx).Order("until_micros ASC").Limit(maxOpenBreakers).Find(&rows).Error
	return rows, db.err(err)
}

// BreakersOf returns the open breakers of the given webhooks, by webhook id.
func (db *DB) BreakersOf(ctx context.Context, ids []string) (map[string]*WebhookBreaker, error) {
	out := make(map[string]*WebhookBreaker, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []WebhookBreaker
	if err := db.gorm.WithContext(ctx).Where("webhook_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, db.err(err)
	}
	for i := range rows {
		out[rows[i].WebhookID] = &rows[i]
	}
	return out, nil
}
