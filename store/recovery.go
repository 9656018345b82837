package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Recovery re-sends a webhook's failed deliveries since a time, as a background job whose
// progress operators can follow.
type Recovery struct {
	ID        string    `gorm:"primaryKey;size:64"`
	WebhookID string    `gorm:"size:64;not null;index"`
	Since     time.Time `gorm:"not null"`
	// Total is how many failed deliveries matched when the recovery started; Done how many
	// have been queued again so far.
	Total int64 `gorm:"not null;default:0"`
	Done  int64 `gorm:"not null;default:0"`
	// Retrying is how many of the webhook's deliveries since the time were still pending
	// (retrying, or being sent) when the recovery started. IncludeRetrying brings the
	// next attempt of those waiting for one forward to now; without it they keep their
	// schedule.
	Retrying        int64     `gorm:"not null;default:0"`
	IncludeRetrying bool      `gorm:"not null;default:false"`
	Status          string    `gorm:"size:16;not null"` // running, done
	CreatedAt       time.Time `gorm:"not null;autoCreateTime:false"`
	UpdatedAt       time.Time `gorm:"not null;autoUpdateTime:false"`
}

// Recovery states.
const (
	RecoveryRunning = "running"
	RecoveryDone    = "done"
)

// CreateRecovery inserts r, counting the deliveries it will re-send.
func (db *DB) CreateRecovery(ctx context.Context, r *Recovery) error {
	if err := db.gorm.WithContext(ctx).Model(&Delivery{}).
		Where("webhook_id = ? AND status = ? AND created_at >= ?", r.WebhookID, DeliveryFailed, r.Since).
		Count(&r.Total).Error; err != nil {
		return db.err(err)
	}
	if err := db.gorm.WithContext(ctx).Model(&Delivery{}).
		Where("webhook_id = ? AND status = ? AND created_at >= ?", r.WebhookID, DeliveryPending, r.Since).
		Count(&r.Retrying).Error; err != nil {
		return db.err(err)
	}
	r.CreatedAt = db.Now()
	r.UpdatedAt = r.CreatedAt
	if r.Status == "" {
		r.Status = RecoveryRunning
	}
	return db.err(db.gorm.WithContext(ctx).Create(r).Error)
}

// GetRecovery returns a recovery. Returns ENOTFOUND when there is none.
func (db *DB) GetRecovery(ctx context.Context, id string) (*Recovery, error) {
	var r Recovery
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, db.err(err)
	}
	return &r, nil
}

// FailedDeliveries returns up to limit failed deliveries of a webhook created since a
// time, oldest first.
func (db *DB) FailedDeliveries(ctx context.Context, webhookID string, since time.Time, limit int) ([]Delivery, error) {
	var ds []Delivery
	err := db.gorm.WithContext(ctx).
		Where("webhook_id = ? AND status = ? AND created_at >= ?", webhookID, DeliveryFailed, since).
		Order("created_at ASC, id ASC").Limit(limit).Find(&ds).Error
	return ds, db.err(err)
}

// WaitingDeliveries returns up to limit ids of a webhook's pending deliveries created in
// [since, until) that wait for a later attempt (none is being sent), oldest first.
func (db *DB) WaitingDeliveries(ctx context.Context, webhookID string, since, until time.Time, limit int) ([]string, error) {
	var ids []string
	now := db.Now()
	err := db.gorm.WithContext(ctx).Model(&Delivery{}).
		Where("webhook_id = ? AND status = ? AND created_at >= ? AND created_at < ? AND next_attempt_at > ? AND (claimed_until IS NULL OR claimed_until < ?)",
			webhookID, DeliveryPending, since, until, now, now).
		Order("created_at ASC, id ASC").Limit(limit).Pluck("id", &ids).Error
	return ids, db.err(err)
}

// AttemptAt sets the next attempt of pending deliveries to at.
func (db *DB) AttemptAt(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return db.err(db.gorm.WithContext(ctx).Model(&Delivery{}).Where("id IN ? AND status = ?", ids, DeliveryPending).
		Updates(map[string]any{"next_attempt_at": at, "updated_at": db.Now()}).Error)
}

// AdvanceRecovery adds n to a recovery's progress and marks it done when finished.
func (db *DB) AdvanceRecovery(ctx context.Context, id string, n int64, finished bool) error {
	updates := map[string]any{"done": gorm.Expr("done + ?", n), "updated_at": db.Now()}
	if finished {
		updates["status"] = RecoveryDone
	}
	return db.err(db.gorm.WithContext(ctx).Model(&Recovery{}).Where("id = ?", id).Updates(updates).Error)
}

// Prune deletes what is older than before: attempts, finished deliveries, events none
// of whose deliveries is left, and portal links that expired. Pending deliveries and their events are kept, however old.
// It returns how many attempts, deliveries and events it deleted. It deletes in batches
// of at most PruneBatch rows, paced (see pacer), and stops, with ctx's error, when ctx ends; what it deleted until then is
// deleted, and a later call goes on.
func (db *DB) Prune(ctx context.Context, before time.Time) (attempts, deliveries, events int64, err error) {
	g := db.gorm.WithContext(ctx)
	if err := db.AnalyzeUnknown(ctx); err != nil {
		return 0, 0, 0, err
	}
	p := newPacer(db.PruneBatch, db.pruneBatchTime())
	timeArg := db.unplannedTime()
	// Attempts, oldest first, by their index on started_at. Each batch starts at the
	// latest time the one before deleted: on PostgreSQL a deleted row's index entry stays
	// until vacuum passes, and a batch that started from the oldest would walk the
	// entries of every batch before it.
	var from time.Time
	for {
		batch, t0 := p.size, time.Now()
		rows, err := g.Raw("DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE started_at < "+timeArg+" AND started_at >= "+timeArg+
			" ORDER BY started_at LIMIT ?) RETURNING started_at", before, from, batch).Rows()
		if err != nil {
			return attempts, 0, 0, db.err(err)
		}
		n := 0
		for rows.Next() {
			var at time.Time
			if err := rows.Scan(&at); err != nil {
				rows.Close()
				return attempts, 0, 0, db.err(err)
			}
			n++
			if at.After(from) {
				from = at.UTC()
			}
		}
		if err := rows.Close(); err != nil {
			return attempts, 0, 0, db.err(err)
		}
		if err := rows.Err(); err != nil {
			return attempts, 0, 0, db.err(err)
		}
		attempts += int64(n)
		if n < batch {
			break
		}
		if err := p.rest(ctx, time.Since(t0)); err != nil {
			return attempts, 0, 0, db.err(err)
		}
	}
	// Deliveries and events, by the events' index on created_at: a batch of events older
	// than before, their finished deliveries older than before, then those of the events
	// that no delivery is left to. The batches walk the events in (created_at, id) order,
	// so that the events kept (a pending delivery's) are passed once, not read again by
	// every batch. A delivery is never older than its event.
	var (
		lastAt time.Time
		lastID string
	)
	for first := true; ; first = false {
		type row struct {
			ID        string
			CreatedAt time.Time
		}
		var rows []row
		batch, t0 := p.size, time.Now()
		q := g.Model(&Event{}).Select("id, created_at").Where("created_at < "+timeArg, before)
		if !first {
			q = q.Where("created_at >= "+timeArg+" AND (created_at > "+timeArg+" OR id > ?)", lastAt, lastAt, lastID)
		}
		if err := q.Order("created_at ASC, id ASC").Limit(batch).Scan(&rows).Error; err != nil {
			return attempts, deliveries, events, db.err(err)
		}
		if len(rows) == 0 {
			break
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		if err := db.InTx(ctx, func(tx *DB) error {
			t := tx.gorm.WithContext(ctx)
			res := t.Where("event_id IN ? AND created_at < ? AND status <> ?", ids, before, DeliveryPending).Delete(&Delivery{})
			if res.Error != nil {
				return res.Error
			}
			deliveries += res.RowsAffected
			res = t.Where("id IN ? AND NOT EXISTS (SELECT 1 FROM deliveries WHERE deliveries.event_id = events.id)", ids).Delete(&Event{})
			if res.Error != nil {
				return res.Error
			}
			events += res.RowsAffected
			return nil
		}); err != nil {
			return attempts, deliveries, events, db.err(err)
		}
		last := rows[len(rows)-1]
		if !first && last.ID == lastID && last.CreatedAt.Equal(lastAt) {
			break // no progress: never loop
		}
		lastAt, lastID = last.CreatedAt.UTC(), last.ID
		if len(rows) < batch {
			break
		}
		if err := p.rest(ctx, time.Since(t0)); err != nil {
			return attempts, deliveries, events, db.err(err)
		}
	}
	// Portal links ended before then are of no use, even to list.
	if err := g.Where("expires_at < ?", before).Delete(&PortalLink{}).Error; err != nil {
		return attempts, deliveries, events, db.err(err)
	}
	// A rate's pace that ended before then is as good as none (the next start is now), and
	// a deleted webhook's pace and breaker are of no use at all. A breaker whose pause
	// ended before then and that has no probe out is forgotten: the endpoint was not tried
	// since, and closed it may be tried again.
	if err := g.Where("tat_micros < ? OR NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = webhook_rates.webhook_id)",
		before.UnixMicro()).Delete(&WebhookRate{}).Error; err != nil {
		return attempts, deliveries, events, db.err(err)
	}
	if err := g.Where("(until_micros < ? AND probe_until_micros < ?) OR NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = webhook_breakers.webhook_id)",
		before.UnixMicro(), before.UnixMicro()).Delete(&WebhookBreaker{}).Error; err != nil {
		return attempts, deliveries, events, db.err(err)
	}
	// A deleted ordered webhook's sequence numbers nothing more. A live one's is kept
	// whatever its age: its lanes' order goes on from it.
	if err := g.Where("NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = webhook_sequences.webhook_id)").
		Delete(&WebhookSequence{}).Error; err != nil {
		return attempts, deliveries, events, db.err(err)
	}
	return attempts, deliveries, events, nil
}

// unplannedTime is the placeholder of a time the planner is not to look at: on
// PostgreSQL a scalar subquery, whose value it plans without. Given a time in the first
// or last part of a column's statistics, the planner reads the column's index for its
// actual lowest and highest values, and during a prune the lowest is found past every
// entry the prune has deleted so far (they stay until vacuum passes): planning a batch of
// the prune took 7 to 26 ms at 300,000 deleted events, 50 times its running, and the
// batches, sized by time, shrank to the smallest. SQLite plans without the value.
func (db *DB) unplannedTime() string {
	if db.backend == BackendPostgres {
		return "(SELECT CAST(? AS timestamptz))"
	}
	return "?"
}

// Reclaim makes the space of the rows a prune deleted reusable. On PostgreSQL a deleted
// row's space is reused only once vacuum has passed over it; autovacuum waits (by
// default) for a fifth of a table to be dead and then works at a slow, throttled pace,
// and where it is off it never comes: after a prune of 200,000 deliveries the load that
// followed grew the database by more than it wrote. Reclaim vacuums events, deliveries
// and attempts (a plain VACUUM, which takes no lock that reads or writes wait for). It
// leaves their statistics as they were: gathered right after a prune of most of a table,
// they would describe the few rows left rather than the table the load fills again. On
// SQLite it does nothing: the pages a delete frees are reused as they are freed.
func (db *DB) Reclaim(ctx context.Context) error {
	if db.backend != BackendPostgres {
		return nil
	}
	_, err := db.sql.ExecContext(ctx, "VACUUM attempts, deliveries, events")
	return db.err(err)
}

// AnalyzeUnknown has PostgreSQL gather the statistics of events, deliveries and attempts
// where it has none: without them it guesses that an event id matches a fifth of the
// deliveries, and a batch of the prune read the whole table (a second a batch at 200,000
// rows); a lane's promotions were planned as an anti-join reading a whole index per
// waiting delivery. Autovacuum gathers them in time where it runs, but not where it is
// off, nor in the first minutes of a database the load fills, nor soon after a bulk
// import. Tables with statistics, and empty ones, are left as they are. On SQLite it does
// nothing.
func (db *DB) AnalyzeUnknown(ctx context.Context) error {
	if db.backend != BackendPostgres {
		return nil
	}
	for _, table := range []string{"attempts", "deliveries", "events"} {
		// An empty table has no statistics to gather: it is looked at again next time.
		var leave bool
		if err := db.sql.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1)
OR NOT EXISTS (SELECT 1 FROM `+table+`)`, table).Scan(&leave); err != nil {
			return db.err(err)
		}
		if leave {
			continue
		}
		if _, err := db.sql.ExecContext(ctx, "ANALYZE "+table); err != nil {
			return db.err(err)
		}
	}
	return nil
}

// A prune paces itself so that the work it shares the database with (on SQLite, with
// one connection, all of it) waits little: each batch is sized to take about its
// backend's batch time (pruneBatchTime), and is followed by a rest of pruneRest times
// what it took, so that the prune holds the database a third of the time at most.
//
// On SQLite a delivery that comes while a batch runs waits for it, so batches are short,
// about 2 ms; at this pace a million expired deliveries, with their attempts and events,
// take a few minutes. Shorter ones were tried twice and left out: at 500 µs, beside a
// prune of 200,000 rows, the p99 of deliveries at 500/s while it ran was 10.3 ms (median
// of six runs) against 12.2 ms (five), both well above baselines of 3-13 ms, and the
// prune took 1.7 times as long (109-138 s against 54-80 s; 1,000,000 in 466 s): what it
// can delete in a second while delivering, its room to keep up with what comes in,
// halved for a sixth off a toll that stays.
//
// On PostgreSQL nothing waits for a batch (it locks only the expired rows it deletes)
// and each costs a few milliseconds whatever its size (round trips, the commit's flush):
// 2 ms batches shrank to the smallest, 10 rows, and a prune of 200,000 took 7 minutes.
// There they are sized to 20 ms, and what bounds the prune's toll on the deliveries is
// the share of time it runs.
const (
	sqliteBatchTime   = 2 * time.Millisecond
	postgresBatchTime = 20 * time.Millisecond
	pruneRest         = 2
	pruneMinBatch     = 10
)

// pruneBatchTime is how long a batch of a prune aims to take on db's backend.
func (db *DB) pruneBatchTime() time.Duration {
	if db.backend == BackendPostgres {
		return postgresBatchTime
	}
	return sqliteBatchTime
}

// pacer sizes and spaces the batches of a prune.
type pacer struct {
	size, max int
	aim       time.Duration
}

func newPacer(largest int, aim time.Duration) *pacer {
	largest = max(largest, 1)
	return &pacer{size: min(100, largest), max: largest, aim: aim}
}

// rest sizes the next batch from how long the last one took, and rests; it returns
// ctx's error once it has ended.
func (p *pacer) rest(ctx context.Context, took time.Duration) error {
	if took > 0 {
		aim := int(float64(p.size) * float64(p.aim) / float64(took))
		p.size = min(max((p.size+aim)/2, min(pruneMinBatch, p.max)), p.max)
	}
	t := time.NewTimer(max(took*pruneRest, 100*time.Microsecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RecoveryProgress is what became of the deliveries a recovery re-sent, counted from the
// attempts made since it started.
type RecoveryProgress struct {
	// Attempted is how many deliveries of the recovery's window have had an attempt since
	// it started; of them, Succeeded succeeded, FailedAgain failed for good and
	// WaitingForRetry failed and wait for a later attempt.
	Attempted, Succeeded, FailedAgain, WaitingForRetry int64
}

// Progress counts r's deliveries by what their attempts since r started made of them: the
// webhook's deliveries of the recovery's window with an attempt since it started and
// none that succeeded before it.
func (db *DB) Progress(ctx context.Context, r *Recovery) (RecoveryProgress, error) {
	var rows []struct {
		Status string
		N      int64
	}
	err := db.gorm.WithContext(ctx).Model(&Delivery{}).Select("status, COUNT(*) AS n").
		Where("webhook_id = ? AND created_at >= ? AND created_at < ?", r.WebhookID, r.Since, r.CreatedAt).
		Where("EXISTS (SELECT 1 FROM attempts WHERE attempts.delivery_id = deliveries.id AND attempts.started_at >= ?)", r.CreatedAt).
		// A delivery that had succeeded before was not the recovery's (a manual retry
		// made beside it, say).
		Where("NOT EXISTS (SELECT 1 FROM attempts WHERE attempts.delivery_id = deliveries.id AND attempts.started_at < ? AND attempts.response_status BETWEEN 200 AND 299)", r.CreatedAt).
		Group("status").Scan(&rows).Error
	var p RecoveryProgress
	for _, row := range rows {
		p.Attempted += row.N
		switch row.Status {
		case DeliverySucceeded:
			p.Succeeded += row.N
		case DeliveryFailed:
			p.FailedAgain += row.N
		case DeliveryPending:
			p.WaitingForRetry += row.N
		}
	}
	return p, db.err(err)
}
