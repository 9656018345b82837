package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Claims. Every attempt of a delivery is made under a claim: the process that publishes
// an event claims its deliveries in the publishing transaction, and a delivery due for a
// later attempt (next_attempt_at) is claimed by the process whose poll takes it
// (DueDeliveries, ClaimDue). The claim ends when the attempt is recorded (Settle).
// Should the process die first, its claims are released, due at once, by whichever
// process notices: when its heartbeat stops (ReleaseClaimsOf), at the latest when the
// claim runs out (ReleaseExpired). A pending delivery is thus always either claimed by one
// process, due at its next_attempt_at, or held for its disabled or paused webhook (ReleaseHeld makes
// it due again), never none of them.

// Settle records what became of claimed deliveries: as[i], when not nil, is the attempt
// made for ds[i], which holds the delivery's new state. Each delivery is updated, and its
// claim ended, only while ds[i].ClaimedBy still holds it and its attempts are those
// ds[i] counted from (one fewer when as[i] is one); held reports which ones were.
// Attempts are stored either way: they were made.
func (db *DB) Settle(ctx context.Context, ds []*Delivery, as []*Attempt) (held []bool, err error) {
	held, _, err = db.SettleAndClaim(ctx, ds, as, nil, "", time.Time{})
	return held, err
}

// SettleAndClaim is Settle, which also claims for owner until a time those of next
// (successors in the lanes ds finish, see lanes.go) that head their lane once ds are
// recorded, unattempted since they were kept, and returns them as claimed. Claimed before the lanes' promotions run, a
// successor costs no promotion.
func (db *DB) SettleAndClaim(ctx context.Context, ds []*Delivery, as []*Attempt, next []Delivery, owner string, until time.Time) (held []bool, claimed []Delivery, err error) {
	held, claimed, _, err = db.SettleClaimAndMarkHealthy(ctx, ds, as, next, owner, until, nil)
	return held, claimed, err
}

// HealthMark is a webhook whose run of failures a write may end (MarkHealthy), and the
// operator event that says so, if any, stored if and only if the write ends it.
type HealthMark struct {
	WebhookID string
	Recovered *Notice
}

// SettleClaimAndMarkHealthy is SettleAndClaim and MarkHealthy of the marks' webhooks in
// one write (a transaction of its own, outside one): on PostgreSQL one round trip, where
// a transaction of both took four. It returns what each returns (ended in the marks'
// order), and stores the notices of the runs it ended.
func (db *DB) SettleClaimAndMarkHealthy(ctx context.Context, ds []*Delivery, as []*Attempt, next []Delivery, owner string,
	until time.Time, marks []HealthMark) (held []bool, claimed []Delivery, ended []string, err error) {
	now := db.Now()
	held = make([]bool, len(ds))
	var sts []statement
	webhooks, dialects, err := db.attemptWebhooks(ctx, ds, as)
	if err != nil {
		return nil, nil, nil, db.err(err)
	}
	for i, a := range as {
		if a != nil {
			st, err := insertAttempt(a, db.webhookLogs.digest(webhooks[i], dialects[i]))
			if err != nil {
				return nil, nil, nil, db.err(err)
			}
			sts = append(sts, st)
		}
	}
	first := len(sts)
	for i, d := range ds {
		// Only a held delivery writes held_at, so that the others leave its index alone;
		// claimed_by means nothing once claimed_until is NULL, and is cleared. The
		// claim is matched on its holder, d.ClaimedBy, which is cleared only once this
		// commits, so that a batch tried again still matches, and on the attempts counted
		// before this one, as its claim read them: a settlement computed from a stale
		// copy of the delivery writes nothing over the newer state.
		before := d.Attempts
		if i < len(as) && as[i] != nil {
			before--
		}
		if d.HeldAt == nil {
			sts = append(sts, statement{settleSQL, []any{d.Status, d.Attempts, d.LastStatus, d.LastError, d.NextAttemptAt, now,
				d.DeliveredAt, d.ID, d.ClaimedBy, before}})
		} else {
			sts = append(sts, statement{holdSQL, []any{d.Status, d.Attempts, d.LastStatus, d.LastError, now, d.HeldAt, d.ID, d.ClaimedBy, before}})
		}
	}
	succ := len(sts)
	for _, d := range next {
		sts = append(sts, statement{claimKeptSQL, []any{until, owner, d.ID, DeliveryPending, d.Attempts}})
	}
	// A lane whose delivery finished for good moves on to its next one (a successor
	// just claimed is left as it is).
	sts = append(sts, promotions(ds)...)
	sts = append(sts, db.activityStatements(attemptActivity(as))...)
	sts = append(sts, db.webhookMinuteStatements(webhookAttemptCounts(as, webhooks), db.webhookMinuteShard(ds))...)
	sts, healthy := db.healthStatements(sts, marks, now)
	n, err := db.execAll(ctx, sts)
	if err != nil {
		return nil, nil, nil, db.err(err)
	}
	ended = db.endedRuns(marks, healthy, n)
	for i := range ds {
		held[i] = n[first+i] == 1
	}
	for _, d := range ds {
		d.UpdatedAt, d.ClaimedUntil, d.ClaimedBy = now, nil, ""
	}
	for i, d := range next {
		if n[succ+i] == 1 {
			d.ClaimedUntil, d.ClaimedBy = &until, owner
			claimed = append(claimed, d)
		}
	}
	return held, claimed, ended, nil
}

// markHealthySQL is MarkHealthy for one webhook.
const markHealthySQL = `UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`

const (
	settleSQL = `UPDATE deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?,
next_attempt_at = ?, updated_at = ?, delivered_at = ?, claimed_until = NULL, claimed_by = ''
WHERE id = ? AND claimed_until IS NOT NULL AND claimed_by = ? AND attempts = ?`
	holdSQL = `UPDATE deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?,
next_attempt_at = NULL, updated_at = ?, held_at = ?, claimed_until = NULL, claimed_by = ''
WHERE id = ? AND claimed_until IS NOT NULL AND claimed_by = ? AND attempts = ?`
)

// DueDeliveries returns up to limit pending deliveries whose next attempt is due at now
// and that no claim, job or hold has, but for those to exceptWebhooks, and in a lane only
// its head (lanes.go): the attempts the engine's poll claims (ClaimDue).
// Oldest due first.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int, exceptWebhooks []string) ([]Delivery, error) {
	var ds []Delivery
	q := db.gorm.WithContext(ctx).Table(db.dueTable).
		Where("next_attempt_at IS NOT NULL AND next_attempt_at <= ? AND status = ? AND claimed_until IS NULL AND held_at IS NULL AND (lane IS NULL OR "+laneHead+")",
			now, DeliveryPending)
	if len(exceptWebhooks) > 0 {
		q = q.Where("webhook_id NOT IN ?", exceptWebhooks)
	}
	err := q.Order("next_attempt_at ASC").Limit(limit).Find(&ds).Error
	return ds, db.err(err)
}

// ClaimDue claims, for owner until a time, those of ds (from DueDeliveries) that are
// still pending, unclaimed and as they were read, and returns them as claimed; it moves
// the next attempt of those in postpone (deliveries as read, each with the time it is
// due again as its NextAttemptAt) that are still unclaimed and unattempted since. On PostgreSQL another
// replica may claim some first: each delivery is claimed by one only. One that another
// replica (or another look of this one) claimed, attempted and rescheduled since it was
// read is not claimed from that read: its attempt would be made again under the old
// attempt's number, before its backoff, and its settle would count the attempts back.
func (db *DB) ClaimDue(ctx context.Context, ds []Delivery, postpone []Delivery, owner string, until time.Time) ([]Delivery, error) {
	if len(ds) == 0 && len(postpone) == 0 {
		return nil, nil
	}
	var sts []statement
	for _, d := range postpone {
		sts = append(sts, statement{postponeSQL, []any{d.NextAttemptAt, d.ID, DeliveryPending, d.Attempts}})
	}
	first := len(sts)
	for _, d := range ds {
		sts = append(sts, statement{claimReadSQL, []any{until, owner, d.ID, DeliveryPending, d.Attempts, d.NextAttemptAt}})
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
WHERE id = ? AND status = ? AND claimed_until IS NULL AND held_at IS NULL AND (lane IS NULL OR ` + laneHead + `)`
	// claimReadSQL is claimDueSQL for a delivery as it was read: its attempts
	// unchanged, and its next attempt not moved later.
	claimReadSQL = claimDueSQL + ` AND attempts = ? AND next_attempt_at <= ?`
	// claimKeptSQL is claimDueSQL for a lane's successor kept in memory since its
	// publish (never due, so no time to compare): not attempted meanwhile.
	claimKeptSQL = claimDueSQL + ` AND attempts = ?`
	postponeSQL  = `UPDATE deliveries SET next_attempt_at = ?
WHERE id = ? AND status = ? AND claimed_until IS NULL AND attempts = ?`
)

// ReleaseExpired ends every claim that ran out before a time, leaving its delivery due
// at at, and returns how many it released: their processes stopped before they recorded
// an attempt, and the poll for due deliveries sends them again.
func (db *DB) ReleaseExpired(ctx context.Context, before, at time.Time) (int64, error) {
	return db.releaseClaims(ctx, at, "claimed_until IS NOT NULL AND claimed_until < ?", before)
}

// ReleaseClaimsOf ends every claim a replica holds, leaving its delivery due at at, and
// returns how many it released: the replica stopped beating its heartbeat.
func (db *DB) ReleaseClaimsOf(ctx context.Context, replica string, at time.Time) (int64, error) {
	return db.releaseClaims(ctx, at, "claimed_until IS NOT NULL AND claimed_by = ?", replica)
}

// releaseClaims ends the claims where cond holds, leaving their deliveries due at at.
// On PostgreSQL it leaves out the rows another transaction holds, a settle in flight
// most likely (which ends the claim itself), rather than wait for them: one statement
// over many rows, locking them in its own order, and a settle batch, locking its rows
// in another, each waited for a row the other held, and PostgreSQL ended one of them as
// deadlocked. A claim left out is released by the next sweep if it is still there.
func (db *DB) releaseClaims(ctx context.Context, at time.Time, cond string, arg any) (int64, error) {
	set := map[string]any{"claimed_until": nil, "next_attempt_at": at, "updated_at": db.Now()}
	g := db.gorm.WithContext(ctx)
	var res *gorm.DB
	if db.backend == BackendPostgres {
		locked := g.Model(&Delivery{}).Select("id").Where(cond, arg).Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		res = db.gorm.WithContext(ctx).Model(&Delivery{}).Where("id IN (?)", locked).Where(cond, arg).Updates(set)
	} else {
		res = g.Model(&Delivery{}).Where(cond, arg).Updates(set)
	}
	return res.RowsAffected, db.err(res.Error)
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

// ReleaseHeld ends the hold of every held delivery whose webhook delivers again (it is
// enabled, not disabled by the gateway, not paused and its breaker not open), leaving it due at at, and returns how many it
// released. Held deliveries whose webhook was deleted are cancelled on the way. It reads
// one index entry per webhook holding deliveries, and the deliveries of those it
// releases: a paused webhook's backlog costs it nothing.
func (db *DB) ReleaseHeld(ctx context.Context, at time.Time) (int64, error) {
	var n int64
	after := ""
	for {
		ids, err := db.heldWebhooks(ctx, after, heldWebhooksBatch)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		after = ids[len(ids)-1]
		released, err := db.releaseHeldOf(ctx, ids, at)
		n += released
		if err != nil || len(ids) < heldWebhooksBatch {
			return n, err
		}
	}
}

// webhookDelivers is the condition on a webhook w (its argument: true) that it delivers as
// far as its owner and operators say: enabled, not disabled by the gateway, not paused.
// Its breaker is the other condition.
const webhookDelivers = `w.enabled = ? AND w.disabled_at IS NULL AND w.paused_at IS NULL`

// heldWebhooksBatch is how many webhooks holding deliveries ReleaseHeld takes at a time.
const heldWebhooksBatch = 500

// heldWebhooks returns, in order, up to limit ids of webhooks after after that hold
// deliveries: one step through the held index per webhook, however many each holds.
func (db *DB) heldWebhooks(ctx context.Context, after string, limit int) ([]string, error) {
	var ids []string
	err := db.gorm.WithContext(ctx).Raw(`WITH RECURSIVE h(id, n) AS (
  SELECT (SELECT webhook_id FROM deliveries WHERE held_at IS NOT NULL AND webhook_id > ? ORDER BY webhook_id LIMIT 1), 1
  UNION ALL
  SELECT (SELECT webhook_id FROM deliveries WHERE held_at IS NOT NULL AND webhook_id > h.id ORDER BY webhook_id LIMIT 1), n + 1
  FROM h WHERE h.id IS NOT NULL AND n < ?
)
SELECT id FROM h WHERE id IS NOT NULL`, after, limit).Scan(&ids).Error
	return ids, db.err(err)
}

// releaseHeldOf is ReleaseHeld for the held deliveries of the webhooks ids: it reads the
// webhooks first, and the deliveries only of those gone or delivering again.
func (db *DB) releaseHeldOf(ctx context.Context, ids []string, at time.Time) (int64, error) {
	g := db.gorm.WithContext(ctx)
	var found []struct {
		ID string
		// Delivers: enabled, not disabled and not paused (webhookDelivers); Until and
		// ProbeUntil its breaker's (none when Until is nil).
		Delivers, Ordered bool
		Until, ProbeUntil *int64
	}
	if err := g.Raw(`SELECT w.id, (`+webhookDelivers+`) AS delivers, w.ordered,
b.until_micros AS until, b.probe_until_micros AS probe_until
FROM webhooks w LEFT JOIN webhook_breakers b ON b.webhook_id = w.id WHERE w.id IN ?`, true, ids).Scan(&found).Error; err != nil {
		return 0, db.err(err)
	}
	known := make(map[string]bool, len(found))
	var ready []string
	for _, w := range found {
		known[w.ID] = true
		switch {
		case !w.Delivers:
		case w.Until == nil:
			ready = append(ready, w.ID)
		case !w.Ordered && *w.Until <= at.UnixMicro() && *w.ProbeUntil <= at.UnixMicro():
			// Its breaker waits for a probe, and what it holds may be all it has: held
			// for a pause since ended, say. (An ordered webhook's are left due.)
			if err := db.probeHeld(ctx, w.ID, at); err != nil {
				return 0, err
			}
		}
	}
	var gone []string
	for _, id := range ids {
		if !known[id] {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		if err := g.Model(&Delivery{}).
			Where("held_at IS NOT NULL AND webhook_id IN ? AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = deliveries.webhook_id)", gone).
			Updates(map[string]any{"held_at": nil, "status": DeliveryCancelled, "last_error": "The webhook was deleted.",
				"next_attempt_at": nil, "updated_at": db.Now()}).Error; err != nil {
			return 0, db.err(err)
		}
	}
	if len(ready) == 0 {
		return 0, nil
	}
	// The webhook is read again with each row: it may have been paused or disabled since,
	// or its breaker opened.
	const delivers = `held_at IS NOT NULL AND webhook_id IN ? AND EXISTS (SELECT 1 FROM webhooks w WHERE w.id = deliveries.webhook_id
AND ` + webhookDelivers + `) AND NOT EXISTS (SELECT 1 FROM webhook_breakers b WHERE b.webhook_id = deliveries.webhook_id)`
	// In a lane only the head is due: the rest, released first, wait for their lane
	// (lanes.go).
	behind := g.Model(&Delivery{}).Where(delivers+" AND lane IS NOT NULL AND NOT "+laneHead, ready, true).
		Updates(map[string]any{"held_at": nil, "next_attempt_at": nil, "updated_at": db.Now()})
	if behind.Error != nil {
		return 0, db.err(behind.Error)
	}
	res := g.Model(&Delivery{}).Where(delivers, ready, true).
		Updates(map[string]any{"held_at": nil, "next_attempt_at": at, "updated_at": db.Now()})
	return behind.RowsAffected + res.RowsAffected, db.err(res.Error)
}

// ScheduleUnscheduled makes due at at the pending deliveries that wait for nothing: no
// claim, no hold and no next attempt. Older versions left them to a job of the queue;
// the engine's scheduler takes them now. Deliveries waiting for their lane are left
// to PromoteLaneHeads.
func (db *DB) ScheduleUnscheduled(ctx context.Context, at time.Time) (int64, error) {
	res := db.gorm.WithContext(ctx).Model(&Delivery{}).
		Where(notSucceeded).Where("status = ? AND next_attempt_at IS NULL AND claimed_until IS NULL AND held_at IS NULL AND lane IS NULL", DeliveryPending).
		Updates(map[string]any{"next_attempt_at": at})
	return res.RowsAffected, db.err(res.Error)
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
