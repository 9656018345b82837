package store

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Event is one published event. Its ID doubles as the idempotency key: publishing an id
// again creates nothing.
type Event struct {
	ID string `gorm:"primaryKey;size:128"`
	// Type is the name it was published under: canonical, or "<dialect>:<native name>".
	// Indexed with the time, so that a listing of one type reads that type's events only
	// (without, a page of a rare type walked every event by time).
	Type string `gorm:"size:128;not null;index:idx_event_type,priority:1"`
	// Tenant is indexed with the time where it is set (tenantIndexSQL).
	Tenant string `gorm:"size:128;not null;default:''"`
	// Data is carried into every dialect's envelope unchanged.
	Data       json.RawMessage `gorm:"type:text;serializer:json"`
	OccurredAt time.Time       `gorm:"not null"`
	CreatedAt  time.Time       `gorm:"not null;autoCreateTime:false;index;index:idx_event_type,priority:2"`
	// Deliveries is how many webhooks matched.
	Deliveries int `gorm:"not null;default:0"`
}

// CreateEvents inserts events and their deliveries, whose CreatedAt and each event's
// Deliveries count the caller sets; it sets each event's Data to the text stored (JSON
// without spaces). Returns ECONFLICT when an event's id exists already.
// A delivery in a lane (Lane set, see lanes.go) is numbered in its lane, and claimed or
// due as given only if it heads its lane; otherwise it waits for its lane, and its
// ClaimedUntil, ClaimedBy and NextAttemptAt are cleared in deliveries.
func (db *DB) CreateEvents(ctx context.Context, evs []*Event, deliveries []Delivery) error {
	sts := make([]statement, 0, len(evs)+len(deliveries))
	for _, ev := range evs {
		st, err := insertEvent(ev)
		if err != nil {
			return err
		}
		sts = append(sts, st)
	}
	sts, heads := laneStatements(sts, deliveries, db.backend == BackendSQLite)
	sts = append(sts, db.activityStatements(eventActivity(evs))...)
	n, err := db.execAll(ctx, sts)
	if err != nil {
		return db.err(err)
	}
	for i, at := range heads {
		if n[at] == 0 {
			d := &deliveries[i]
			d.ClaimedUntil, d.ClaimedBy, d.NextAttemptAt = nil, "", nil
		}
	}
	return nil
}

// EventsByID returns the events with the given ids, by id; an id with no event is left
// out.
func (db *DB) EventsByID(ctx context.Context, ids []string) (map[string]*Event, error) {
	out := make(map[string]*Event, len(ids))
	for chunk := range slices.Chunk(ids, 500) {
		var evs []Event
		if err := db.gorm.WithContext(ctx).Where("id IN ?", chunk).Find(&evs).Error; err != nil {
			return nil, db.err(err)
		}
		for i := range evs {
			out[evs[i].ID] = &evs[i]
		}
	}
	return out, nil
}

// GetEvent returns the event with the given id. Returns ENOTFOUND when there is none.
func (db *DB) GetEvent(ctx context.Context, id string) (*Event, error) {
	var ev Event
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&ev).Error; err != nil {
		return nil, db.err(err)
	}
	return &ev, nil
}

// EventFilter selects events; empty fields do not filter.
type EventFilter struct {
	Type, Tenant  string
	Since, Until  time.Time
	Offset, Limit int
}

// tenantIndexSQL indexes the events that have a tenant by tenant and time, so that a
// listing of one tenant's events reads only those. Events without one, all of them where
// the gateway serves no tenants, are not in it and cost it nothing; a query says
// tenantSet as well, which lets SQLite use it (see openIndexSQL).
const (
	tenantIndexSQL = `CREATE INDEX IF NOT EXISTS idx_event_tenant ON events (tenant, created_at) WHERE tenant <> ''`
	tenantSet      = "tenant <> ''"
)

// FindEvents returns one page of events, newest first, and how many match (up to CountCap
// and one more, see countMatches).
func (db *DB) FindEvents(ctx context.Context, f EventFilter) ([]Event, int64, error) {
	var evs []Event
	total, err := db.newestFirst(f.where(db.gorm.WithContext(ctx).Model(&Event{})), f.Offset, f.Limit, &evs)
	return evs, total, err
}

// where limits q to the events f selects, paging aside.
func (f EventFilter) where(q *gorm.DB) *gorm.DB {
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.Tenant != "" {
		q = q.Where("tenant = ? AND "+tenantSet, f.Tenant)
	}
	return createdIn(q, f.Since, f.Until)
}

// createdIn limits q to rows created in [since, until); zero times do not bound.
func createdIn(q *gorm.DB, since, until time.Time) *gorm.DB {
	if !since.IsZero() {
		q = q.Where("created_at >= ?", since)
	}
	if !until.IsZero() {
		q = q.Where("created_at < ?", until)
	}
	return q
}

// EventPage selects a page of events by cursor: the filters of EventFilter, and After, a
// cursor from an earlier page (EventCursor) that the page starts after.
type EventPage struct {
	EventFilter
	After string
}

// EventCursor is the cursor of the page after ev, in a newest-first listing.
func EventCursor(ev *Event) string { return pageCursor(ev.CreatedAt, ev.ID) }

// FindEventPage returns one page of events, newest first, how many match (the cursor
// aside; counted up to CountCap, see countMatches), and the cursor of the next page,
// empty on the last. An offset walks the rows it skips, and one past the count reads
// nothing; pages deep in a large store go by cursor, which reads only its page. A
// cursor that does not parse is EINVALID.
func (db *DB) FindEventPage(ctx context.Context, p EventPage) ([]Event, int64, string, error) {
	q := p.where(db.gorm.WithContext(ctx).Model(&Event{}))
	return pageByCursor(db, q, p.After, p.Offset, p.Limit, EventCursor)
}

// newestFirst counts the rows q matches (countMatches) and finds one page of them into
// out, newest first; limit 0 or less is no limit.
func (db *DB) newestFirst(q *gorm.DB, offset, limit int, out any) (int64, error) {
	total, err := db.countMatches(q)
	if err != nil || int64(offset) >= total {
		// Past the count (capped at CountCap): nothing to read, however deep the offset.
		return total, err
	}
	q = q.Order("created_at DESC, id DESC").Offset(max(offset, 0))
	if limit > 0 {
		q = q.Limit(limit)
	}
	return total, db.err(q.Find(out).Error)
}

// DefaultCountCap is how many matching rows a listing counts at most, by default.
const DefaultCountCap = 10000

// countMatches counts the rows q matches, up to db.CountCap and one more: a count above
// CountCap says that more match. The consoles ask for their lists' totals every few
// seconds, and an exact count reads every row that matches, however many the store
// keeps: at 100,000 deliveries 19 ms a request on SQLite, on the connection every publish
// waits for. Counting stops at the cap.
func (db *DB) countMatches(q *gorm.DB) (int64, error) {
	capped := q.Session(&gorm.Session{}).Select("1").Limit(int(db.CountCap) + 1)
	var n int64
	if err := db.gorm.WithContext(q.Statement.Context).Table("(?) AS matches", capped).Count(&n).Error; err != nil {
		return 0, db.err(err)
	}
	return n, nil
}
