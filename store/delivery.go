package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Delivery states.
const (
	DeliveryPending   = "pending"   // waiting for its first or next attempt
	DeliverySucceeded = "succeeded" // a 2xx arrived
	DeliveryFailed    = "failed"    // gave up: attempts exhausted, 410, or the endpoint is disabled
	DeliveryCancelled = "cancelled" // the webhook was deleted before it could be sent
)

// Delivery is one event on its way to one webhook. Its ID is the webhook-id header every
// attempt carries, so receivers can deduplicate.
type Delivery struct {
	ID        string `gorm:"primaryKey;size:64"`
	EventID   string `gorm:"size:128;not null;index"`
	WebhookID string `gorm:"size:64;not null;index:idx_delivery_webhook,priority:1"`
	Dialect   string `gorm:"size:16;not null"`
	// EventName is the event's name in the webhook's dialect.
	EventName string `gorm:"size:128;not null"`
	// Status is indexed only where it is not succeeded (see openIndexSQL): a delivery
	// that succeeded, most of them, leaves the index when it settles and costs it nothing.
	Status   string `gorm:"size:16;not null"`
	Attempts int    `gorm:"not null;default:0"`
	// LastStatus is the HTTP status of the latest attempt, 0 when none answered.
	LastStatus int    `gorm:"not null;default:0"`
	LastError  string `gorm:"type:text;not null;default:''"`
	// NextAttemptAt is when a pending delivery without a claim is due (see ClaimDue): the
	// one way a delivery waits, whatever for (a retry, a busy endpoint, an open breaker, a
	// claim given up). Only the deliveries waiting for an attempt are in its index: a
	// finished one has none.
	NextAttemptAt *time.Time `gorm:"index:idx_delivery_due,where:next_attempt_at IS NOT NULL"`
	// ClaimedUntil is set while a process holds the delivery for an attempt (see
	// claim.go); nil otherwise. Only the claims in force are in its index.
	ClaimedUntil *time.Time `gorm:"index:idx_delivery_claimed,where:claimed_until IS NOT NULL"`
	// ClaimedBy names the process (its replica id) holding the claim; a claim is settled
	// only by its holder, and a replica that stops beating its heartbeat loses its claims
	// at once, without waiting for ClaimedUntil.
	// It is not indexed: the claims in force are few, and found by ClaimedUntil's index.
	// A settle clears it, so that a finished delivery does not keep the replica's id.
	ClaimedBy string `gorm:"size:64;not null;default:''"`
	// HeldAt is set while the delivery waits for its webhook to be enabled again: it has
	// no claim and is not due until then (see ReleaseHeld).
	// Only held deliveries are in its index (heldIndexSQL), which thus costs the others
	// nothing.
	HeldAt *time.Time
	// Lane is, for a delivery to an ordered webhook, its lane: the event's ordering key
	// ("" when it has none, the webhook's default lane); nil for every other delivery.
	// Within a lane (webhook, key) only the head is ever attempted: the pending delivery
	// with no pending one of a lower LaneSeq (see lanes.go).
	Lane *string `gorm:"size:128"`
	// LaneSeq orders a lane's deliveries: the database assigns it at insert from the
	// webhook's sequence (WebhookSequence), so that it follows the order publishes
	// committed in, whichever replica's clock stamped them. Zero outside lanes.
	LaneSeq     int64      `gorm:"not null;default:0"`
	CreatedAt   time.Time  `gorm:"not null;autoCreateTime:false;index:idx_delivery_webhook,priority:2;index:idx_delivery_created"`
	UpdatedAt   time.Time  `gorm:"not null;autoUpdateTime:false"`
	DeliveredAt *time.Time `gorm:""`
}

// GetDelivery returns the delivery with the given id. Returns ENOTFOUND when there is none.
func (db *DB) GetDelivery(ctx context.Context, id string) (*Delivery, error) {
	var d Delivery
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&d).Error; err != nil {
		return nil, db.err(err)
	}
	return &d, nil
}

// DeliveriesOfEvent lists an event's deliveries.
func (db *DB) DeliveriesOfEvent(ctx context.Context, eventID string) ([]Delivery, error) {
	var ds []Delivery
	err := db.gorm.WithContext(ctx).Where("event_id = ?", eventID).Order("created_at ASC, id ASC").Find(&ds).Error
	return ds, db.err(err)
}

// DeliveryFilter selects deliveries; empty fields do not filter.
type DeliveryFilter struct {
	EventID, WebhookID, Dialect, Status string
	// Since and Until bound the creation time, inclusive and exclusive.
	Since, Until  time.Time
	Offset, Limit int
}

// where limits q to the deliveries f selects, paging aside. A status other than
// succeeded also says notSucceeded, so that SQLite reads the partial index on status.
func (f DeliveryFilter) where(q *gorm.DB) *gorm.DB {
	for col, v := range map[string]string{"event_id": f.EventID, "webhook_id": f.WebhookID, "dialect": f.Dialect, "status": f.Status} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if f.Status != "" && f.Status != DeliverySucceeded {
		q = q.Where(notSucceeded)
	}
	return createdIn(q, f.Since, f.Until)
}

// FindDeliveries returns one page of deliveries, newest first, and how many match (up to
// CountCap and one more, see countMatches).
func (db *DB) FindDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, int64, error) {
	q := f.where(db.gorm.WithContext(ctx).Model(&Delivery{}))
	var ds []Delivery
	total, err := db.newestFirst(q, f.Offset, f.Limit, &ds)
	return ds, total, err
}

// Requeue puts a finished delivery back to pending, due at at, keeping its attempts.
// Returns ENOTFOUND when there is none and ECONFLICT when it is pending already.
//
// A delivery of a lane goes to the end of its lane (see requeueLane).
func (db *DB) Requeue(ctx context.Context, id string, at time.Time) (*Delivery, error) {
	d, err := db.GetDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	var n int64
	if d.Lane != nil {
		if n, err = db.requeueLane(ctx, d, at); err != nil {
			return nil, err
		}
	} else {
		res := db.gorm.WithContext(ctx).Model(&Delivery{}).Where("id = ? AND status <> ?", id, DeliveryPending).
			Updates(map[string]any{"status": DeliveryPending, "next_attempt_at": at, "updated_at": db.Now()})
		if res.Error != nil {
			return nil, db.err(res.Error)
		}
		n = res.RowsAffected
	}
	if d, err = db.GetDelivery(ctx, id); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, Errorf(ECONFLICT, "The delivery is pending already.")
	}
	return d, nil
}

// Backlog returns how many deliveries are pending and when the oldest of them was
// created (zero when none are).
func (db *DB) Backlog(ctx context.Context) (int64, time.Time, error) {
	// MIN(created_at) cannot be scanned into a time on SQLite, which returns the bare
	// number it keeps times as (an aggregate has no declared type): count, then take the
	// oldest row.
	var n int64
	if err := db.gorm.WithContext(ctx).Model(&Delivery{}).Where(notSucceeded).Where("status = ?", DeliveryPending).Count(&n).Error; err != nil {
		return 0, time.Time{}, db.err(err)
	}
	oldest, err := db.OldestPending(ctx)
	if err != nil || oldest == nil {
		return n, time.Time{}, err
	}
	return n, oldest.CreatedAt, nil
}

// heldIndexSQL indexes the held deliveries by webhook, so that finding the webhooks that
// hold some reads one entry per webhook (heldWebhooks), and releasing one webhook's reads
// only its own, however many another holds.
const heldIndexSQL = `CREATE INDEX IF NOT EXISTS idx_delivery_held_webhook ON deliveries (webhook_id, held_at)
WHERE held_at IS NOT NULL`

// openIndexSQL indexes the deliveries that did not succeed, by status and creation: the
// pending ones (the backlog, the oldest waiting) and those that failed or were cancelled.
// A query selecting some of them says notSucceeded as well, which lets SQLite use it (it
// uses a partial index only for a query that repeats its condition).
const (
	openIndexSQL = `CREATE INDEX IF NOT EXISTS idx_delivery_open ON deliveries (status, created_at) WHERE status <> 'succeeded'`
	notSucceeded = "status <> 'succeeded'"
)
