package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// Event is one published event. Its ID doubles as the idempotency key: publishing an id
// again creates nothing.
type Event struct {
	ID string `gorm:"primaryKey;size:128"`
	// Type is the name it was published under: canonical, or "<dialect>:<native name>".
	Type   string `gorm:"size:128;not null"`
	Tenant string `gorm:"size:128;not null;default:''"`
	// Data is carried into every dialect's envelope unchanged.
	Data       json.RawMessage `gorm:"type:text;serializer:json"`
	OccurredAt time.Time       `gorm:"not null"`
	CreatedAt  time.Time       `gorm:"not null;autoCreateTime:false;index"`
	// Deliveries is how many webhooks matched.
	Deliveries int `gorm:"not null;default:0"`
}

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
	Status    string `gorm:"size:16;not null;index"`
	Attempts  int    `gorm:"not null;default:0"`
	// LastStatus is the HTTP status of the latest attempt, 0 when none answered.
	LastStatus    int        `gorm:"not null;default:0"`
	LastError     string     `gorm:"type:text;not null;default:''"`
	NextAttemptAt *time.Time `gorm:""`
	// ClaimedUntil is set while the process that published the delivery sends its first
	// attempt itself, outside the job queue (see claim.go); nil otherwise.
	ClaimedUntil *time.Time `gorm:"index"`
	// ClaimedBy names the process (its replica id) holding the claim; a claim is settled
	// only by its holder, and a replica that stops beating its heartbeat loses its claims
	// at once, without waiting for ClaimedUntil.
	// It is not indexed: the claims in force are few, and found by ClaimedUntil's index.
	ClaimedBy string `gorm:"size:64;not null;default:''"`
	// HeldAt is set while the delivery waits for its webhook to be enabled again: it has
	// no claim and no job until then (see ReleasableHeld).
	// Only held deliveries are in its index, which thus costs the others nothing.
	HeldAt      *time.Time `gorm:"index:idx_delivery_held,where:held_at IS NOT NULL"`
	CreatedAt   time.Time  `gorm:"not null;autoCreateTime:false;index:idx_delivery_webhook,priority:2"`
	UpdatedAt   time.Time  `gorm:"not null;autoUpdateTime:false"`
	DeliveredAt *time.Time `gorm:""`
}

// Attempt is one HTTP request of a delivery, as sent and as answered. Secrets in headers
// are redacted before it is stored.
type Attempt struct {
	ID              string            `gorm:"primaryKey;size:64"`
	DeliveryID      string            `gorm:"size:64;not null;index"`
	Number          int               `gorm:"not null"`
	URL             string            `gorm:"type:text;not null"`
	StartedAt       time.Time         `gorm:"not null;index"`
	DurationMS      int64             `gorm:"not null"`
	RequestHeaders  map[string]string `gorm:"type:text;serializer:json"`
	RequestBody     string            `gorm:"type:text;not null;default:''"`
	ResponseStatus  int               `gorm:"not null;default:0"`
	ResponseHeaders map[string]string `gorm:"type:text;serializer:json"`
	ResponseBody    string            `gorm:"type:text;not null;default:''"`
	Error           string            `gorm:"type:text;not null;default:''"`
	ErrorKind       string            `gorm:"size:32;not null;default:''"`
	// OmittedHeaders names the webhook's custom headers that were not sent because HTTP
	// cannot carry their name or value.
	OmittedHeaders []string `gorm:"type:text;serializer:json"`
}

// RawTx is the driver-level handle of a transaction, for a job queue that must insert in
// the same transaction: SQL on SQLite, PGX on PostgreSQL.
type RawTx struct {
	SQL *sql.Tx
	PGX pgx.Tx
}

// InTx runs fn in one transaction that GORM (through tx) and a job queue (through raw)
// share; it commits when fn returns nil and rolls back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx *DB, raw RawTx) error) error {
	if db.backend == BackendPostgres {
		// GORM runs on one pooled connection on which pgx has begun the transaction, so
		// that River's pgx driver and GORM write through the same one. GORM must not
		// begin or commit itself (SkipDefaultTransaction is set in newDB).
		return db.err(db.gorm.WithContext(ctx).Connection(func(g *gorm.DB) error {
			conn, ok := g.Statement.ConnPool.(*sql.Conn)
			if !ok {
				return errors.New("store: unexpected connection type")
			}
			var pc *pgx.Conn
			if err := conn.Raw(func(dc any) error {
				sc, ok := dc.(*stdlib.Conn)
				if !ok {
					return errors.New("store: not a pgx connection")
				}
				pc = sc.Conn()
				return nil
			}); err != nil {
				return err
			}
			ptx, err := pc.Begin(ctx)
			if err != nil {
				return err
			}
			defer ptx.Rollback(context.WithoutCancel(ctx))
			tx := *db
			tx.gorm = g
			if err := fn(&tx, RawTx{PGX: ptx}); err != nil {
				return err
			}
			return ptx.Commit(ctx)
		}))
	}
	g := db.gorm.WithContext(ctx).Begin()
	if g.Error != nil {
		return db.err(g.Error)
	}
	pool := g.Statement.ConnPool
	if p, ok := pool.(*gorm.PreparedStmtTX); ok {
		pool = p.Tx
	}
	sqlTx, ok := pool.(*sql.Tx)
	if !ok {
		g.Rollback()
		return Errorf(EINTERNAL, "Unexpected transaction type.")
	}
	tx := *db
	tx.gorm = g
	if err := fn(&tx, RawTx{SQL: sqlTx}); err != nil {
		g.Rollback()
		return db.err(err)
	}
	if db.file != nil {
		// What commits into a file that is no longer the database is lost at the next
		// start: refuse it rather than acknowledge it.
		if err := db.file.check(); err != nil {
			g.Rollback()
			return err
		}
	}
	return db.err(g.Commit().Error)
}

// CreateEvent inserts one event with its deliveries, setting the times left zero and
// the event's count of deliveries. Returns ECONFLICT when an event with ev's id exists.
func (db *DB) CreateEvent(ctx context.Context, ev *Event, deliveries []Delivery) error {
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = db.Now()
	}
	ev.Deliveries = len(deliveries)
	for i := range deliveries {
		if deliveries[i].CreatedAt.IsZero() {
			deliveries[i].CreatedAt = ev.CreatedAt
		}
		deliveries[i].UpdatedAt = deliveries[i].CreatedAt
	}
	return db.CreateEvents(ctx, []*Event{ev}, deliveries)
}

// CreateEvents inserts events and their deliveries, whose CreatedAt and each event's
// Deliveries count the caller sets. Returns ECONFLICT when an event's id exists already.
func (db *DB) CreateEvents(ctx context.Context, evs []*Event, deliveries []Delivery) error {
	g := db.gorm.WithContext(ctx)
	if err := g.CreateInBatches(evs, 100).Error; err != nil {
		return db.err(err)
	}
	if len(deliveries) == 0 {
		return nil
	}
	return db.err(g.CreateInBatches(deliveries, 200).Error)
}

// GetEvent returns the event with the given id. Returns ENOTFOUND when there is none.
func (db *DB) GetEvent(ctx context.Context, id string) (*Event, error) {
	var ev Event
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&ev).Error; err != nil {
		return nil, db.err(err)
	}
	return &ev, nil
}

// GetDelivery returns the delivery with the given id. Returns ENOTFOUND when there is none.
func (db *DB) GetDelivery(ctx context.Context, id string) (*Delivery, error) {
	var d Delivery
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&d).Error; err != nil {
		return nil, db.err(err)
	}
	return &d, nil
}

// WebhookByID returns the webhook with Polyhook's id. Returns ENOTFOUND when there is none.
func (db *DB) WebhookByID(ctx context.Context, id string) (*Webhook, error) {
	return db.takeWebhook(db.gorm.WithContext(ctx).Where("id = ?", id))
}

// RecordAttempt stores an attempt and the delivery's new state together.
func (db *DB) RecordAttempt(ctx context.Context, a *Attempt, d *Delivery) error {
	d.UpdatedAt = db.Now()
	return db.err(db.gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		if err := g.Create(a).Error; err != nil {
			return err
		}
		return g.Model(&Delivery{}).Where("id = ?", d.ID).Select(
			"status", "attempts", "last_status", "last_error", "next_attempt_at", "updated_at", "delivered_at",
		).Updates(d).Error
	}))
}

// UpdateDeliveryStatus sets a delivery's status without an attempt (for instance when its
// webhook is gone).
func (db *DB) UpdateDeliveryStatus(ctx context.Context, id, status, reason string) error {
	return db.err(db.gorm.WithContext(ctx).Model(&Delivery{}).Where("id = ?", id).Updates(map[string]any{
		"status": status, "last_error": reason, "next_attempt_at": nil, "updated_at": db.Now(),
	}).Error)
}

// Attempts lists a delivery's attempts, oldest first.
func (db *DB) Attempts(ctx context.Context, deliveryID string) ([]Attempt, error) {
	var as []Attempt
	err := db.gorm.WithContext(ctx).Where("delivery_id = ?", deliveryID).Order("number ASC").Find(&as).Error
	return as, db.err(err)
}

// DeliveriesOfEvent lists an event's deliveries.
func (db *DB) DeliveriesOfEvent(ctx context.Context, eventID string) ([]Delivery, error) {
	var ds []Delivery
	err := db.gorm.WithContext(ctx).Where("event_id = ?", eventID).Order("created_at ASC, id ASC").Find(&ds).Error
	return ds, db.err(err)
}

// MatchCandidates returns the active webhooks of the given dialects whose scope covers
// tenant: global ones always, and those owned by or listing the tenant when one is given.
// Whether a webhook subscribes to the event is for its dialect to say.
func (db *DB) MatchCandidates(ctx context.Context, dialects []string, tenant string) ([]Webhook, error) {
	q := db.gorm.WithContext(ctx).Where("dialect IN ? AND enabled = ? AND disabled_at IS NULL", dialects, true)
	if tenant == "" {
		q = q.Where("global = ?", true)
	} else {
		q = q.Where("(global = ? OR owner = ? OR tenant_ids LIKE ?)", true, tenant, `%"`+escapeLike(tenant)+`"%`)
	}
	var ws []Webhook
	if err := q.Order("created_at ASC, id ASC").Find(&ws).Error; err != nil {
		return nil, db.err(err)
	}
	if err := db.openAll(ws); err != nil {
		return nil, err
	}
	return ws, nil
}

// DisableWebhook takes a webhook out of delivery, with the reason shown to operators. Its
// pending deliveries are kept.
func (db *DB) DisableWebhook(ctx context.Context, id, reason string) error {
	now := db.Now()
	return db.err(db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id = ?", id).Updates(map[string]any{
		"disabled_at": now, "disabled_reason": reason,
	}).Error)
}

// WebhookAttempt is an attempt with the delivery it belongs to.
type WebhookAttempt struct {
	Attempt
	EventName string
	EventID   string
}

// AttemptsOfWebhook returns one page of a webhook's attempts, newest first, and how many
// there are in all.
func (db *DB) AttemptsOfWebhook(ctx context.Context, webhookID string, offset, limit int) ([]WebhookAttempt, int64, error) {
	q := db.gorm.WithContext(ctx).Table("attempts").
		Joins("JOIN deliveries ON deliveries.id = attempts.delivery_id").
		Where("deliveries.webhook_id = ?", webhookID)
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, db.err(err)
	}
	var out []WebhookAttempt
	err := q.Select("attempts.*, deliveries.event_name AS event_name, deliveries.event_id AS event_id").
		Order("attempts.started_at DESC, attempts.id DESC").Offset(offset).Limit(limit).Find(&out).Error
	return out, total, db.err(err)
}

// Backlog returns how many deliveries are pending and when the oldest of them was
// created (zero when none are).
func (db *DB) Backlog(ctx context.Context) (int64, time.Time, error) {
	// MIN(created_at) cannot be scanned on SQLite, which returns the text it keeps times
	// as: count, then take the oldest row.
	var n int64
	if err := db.gorm.WithContext(ctx).Model(&Delivery{}).Where("status = ?", DeliveryPending).Count(&n).Error; err != nil {
		return 0, time.Time{}, db.err(err)
	}
	oldest, err := db.OldestPending(ctx)
	if err != nil || oldest == nil {
		return n, time.Time{}, err
	}
	return n, oldest.CreatedAt, nil
}

// DisabledWebhooks counts the webhooks the gateway stopped delivering to.
func (db *DB) DisabledWebhooks(ctx context.Context) (int64, error) {
	var n int64
	err := db.gorm.WithContext(ctx).Model(&Webhook{}).Where("disabled_at IS NOT NULL").Count(&n).Error
	return n, db.err(err)
}

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

// DeliveryFilter selects deliveries; empty fields do not filter.
type DeliveryFilter struct {
	EventID, WebhookID, Dialect, Status string
	// Since and Until bound the creation time, inclusive and exclusive.
	Since, Until  time.Time
	Offset, Limit int
}

// FindDeliveries returns one page of deliveries, newest first, and how many match.
func (db *DB) FindDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, int64, error) {
	q := db.gorm.WithContext(ctx).Model(&Delivery{})
	for col, v := range map[string]string{"event_id": f.EventID, "webhook_id": f.WebhookID, "dialect": f.Dialect, "status": f.Status} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	var ds []Delivery
	total, err := db.newestFirst(q, f.Since, f.Until, f.Offset, f.Limit, &ds)
	return ds, total, err
}

// Requeue puts a finished delivery back to pending, keeping its attempts. Returns
// ENOTFOUND when there is none and ECONFLICT when it is pending already.
func (db *DB) Requeue(ctx context.Context, id string) (*Delivery, error) {
	res := db.gorm.WithContext(ctx).Model(&Delivery{}).Where("id = ? AND status <> ?", id, DeliveryPending).
		Updates(map[string]any{"status": DeliveryPending, "next_attempt_at": nil, "updated_at": db.Now()})
	if res.Error != nil {
		return nil, db.err(res.Error)
	}
	d, err := db.GetDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if res.RowsAffected == 0 {
		return nil, Errorf(ECONFLICT, "The delivery is pending already.")
	}
	return d, nil
}

// EventFilter selects events; empty fields do not filter.
type EventFilter struct {
	Type, Tenant  string
	Since, Until  time.Time
	Offset, Limit int
}

// FindEvents returns one page of events, newest first, and how many match.
func (db *DB) FindEvents(ctx context.Context, f EventFilter) ([]Event, int64, error) {
	q := db.gorm.WithContext(ctx).Model(&Event{})
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.Tenant != "" {
		q = q.Where("tenant = ?", f.Tenant)
	}
	var evs []Event
	total, err := db.newestFirst(q, f.Since, f.Until, f.Offset, f.Limit, &evs)
	return evs, total, err
}

// newestFirst limits q to rows created in [since, until) (zero times do not bound),
// counts them, and finds one page of them into out, newest first.
func (db *DB) newestFirst(q *gorm.DB, since, until time.Time, offset, limit int, out any) (int64, error) {
	if !since.IsZero() {
		q = q.Where("created_at >= ?", since)
	}
	if !until.IsZero() {
		q = q.Where("created_at < ?", until)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return 0, db.err(err)
	}
	q = q.Order("created_at DESC, id DESC").Offset(max(offset, 0))
	if limit > 0 {
		q = q.Limit(limit)
	}
	return total, db.err(q.Find(out).Error)
}

// OwnedDeliveryFilter selects the attempted deliveries of one dialect's webhooks under
// one owner (a dialect's delivery-log view); empty fields do not filter.
type OwnedDeliveryFilter struct {
	Dialect, Owner string
	EventNames     []string
	Since, Until   time.Time
	Ascending      bool
	Offset, Limit  int
}

// OwnedDeliveries returns one page of deliveries that have been attempted at least once,
// with their webhooks' URLs, and how many match. A negative Limit means no limit.
func (db *DB) OwnedDeliveries(ctx context.Context, f OwnedDeliveryFilter) ([]Delivery, map[string]string, int64, error) {
	q := db.gorm.WithContext(ctx).Model(&Delivery{}).
		Joins("JOIN webhooks ON webhooks.id = deliveries.webhook_id").
		Where("webhooks.dialect = ? AND webhooks.owner = ? AND deliveries.attempts > 0", f.Dialect, f.Owner)
	if len(f.EventNames) > 0 {
		q = q.Where("deliveries.event_name IN ?", f.EventNames)
	}
	if !f.Since.IsZero() {
		q = q.Where("deliveries.created_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		q = q.Where("deliveries.created_at < ?", f.Until)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, nil, 0, db.err(err)
	}
	dir := "DESC"
	if f.Ascending {
		dir = "ASC"
	}
	var rows []struct {
		Delivery
		URL string
	}
	err := q.Select("deliveries.*, webhooks.url AS url").
		Order("deliveries.created_at " + dir + ", deliveries.id " + dir).
		Offset(max(f.Offset, 0)).Limit(f.Limit).Scan(&rows).Error
	if err != nil {
		return nil, nil, 0, db.err(err)
	}
	ds := make([]Delivery, len(rows))
	urls := map[string]string{}
	for i, r := range rows {
		ds[i] = r.Delivery
		urls[r.ID] = r.URL
	}
	return ds, urls, total, nil
}

// AttemptsOf returns the attempts of the given deliveries, oldest first, by delivery.
func (db *DB) AttemptsOf(ctx context.Context, deliveryIDs []string) (map[string][]Attempt, error) {
	out := map[string][]Attempt{}
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	var as []Attempt
	if err := db.gorm.WithContext(ctx).Where("delivery_id IN ?", deliveryIDs).Order("number ASC").Find(&as).Error; err != nil {
		return nil, db.err(err)
	}
	for _, a := range as {
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, nil
}

// Event outcomes across one dialect's deliveries of an event.
const (
	OutcomeRunning   = "running"   // a delivery is pending
	OutcomeSucceeded = "succeeded" // every delivery succeeded
	OutcomeFailed    = "failed"    // none is pending and one failed or was cancelled
)

// EventLogFilter selects the events one dialect delivered (an event log, for the
// dialects whose API has one); empty fields do not filter.
type EventLogFilter struct {
	Dialect string
	// EventName is the dialect's name of the event.
	EventName string
	// DataLike is a LIKE pattern (`\` escapes) matched against the event's data.
	DataLike      string
	Outcome       string
	Since, Until  time.Time
	Ascending     bool
	Offset, Limit int
}

// EventLog returns one page of the events with deliveries to the dialect's webhooks,
// and how many match.
func (db *DB) EventLog(ctx context.Context, f EventLogFilter) ([]Event, int64, error) {
	has := func(cond string) string {
		return "EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.dialect = @dialect" + cond + ")"
	}
	args := map[string]any{"dialect": f.Dialect, "pending": DeliveryPending, "succeeded": DeliverySucceeded}
	q := db.gorm.WithContext(ctx).Model(&Event{}).Where(has(""), args)
	if f.EventName != "" {
		args["name"] = f.EventName
		q = q.Where(has(" AND d.event_name = @name"), args)
	}
	switch f.Outcome {
	case "":
	case OutcomeRunning:
		q = q.Where(has(" AND d.status = @pending"), args)
	case OutcomeSucceeded:
		q = q.Where("NOT "+has(" AND d.status <> @succeeded"), args)
	case OutcomeFailed:
		q = q.Where("NOT "+has(" AND d.status = @pending"), args).Where(has(" AND d.status <> @pending AND d.status <> @succeeded"), args)
	default:
		return nil, 0, Errorf(EINVALID, "Unknown outcome %q.", f.Outcome)
	}
	if f.DataLike != "" {
		q = q.Where(`LOWER(data) LIKE LOWER(?) ESCAPE '\'`, f.DataLike)
	}
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		q = q.Where("created_at < ?", f.Until)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, db.err(err)
	}
	dir := "DESC"
	if f.Ascending {
		dir = "ASC"
	}
	var evs []Event
	err := q.Order("created_at " + dir + ", id " + dir).Offset(max(f.Offset, 0)).Limit(f.Limit).Find(&evs).Error
	return evs, total, db.err(err)
}

// GetAttempt returns an attempt with its delivery. Returns ENOTFOUND when there is none.
func (db *DB) GetAttempt(ctx context.Context, id string) (*Attempt, *Delivery, error) {
	var a Attempt
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&a).Error; err != nil {
		return nil, nil, db.err(err)
	}
	d, err := db.GetDelivery(ctx, a.DeliveryID)
	return &a, d, err
}
