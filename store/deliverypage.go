package store

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"gorm.io/gorm"
)

// DeliveryPage selects a page of deliveries by cursor: the filters of DeliveryFilter, and
// the tenant portal's and the console's own.
type DeliveryPage struct {
	DeliveryFilter
	// WebhookIDs limits the page to these webhooks when non-nil (an empty list matches
	// nothing).
	WebhookIDs []string
	// EventType is the type the event was published under.
	EventType string
	// After is a cursor from an earlier page (DeliveryCursor): the page starts after it.
	After string
}

// DeliveryCursor is the cursor of the page after d, in a newest-first listing.
func DeliveryCursor(d *Delivery) string { return pageCursor(d.CreatedAt, d.ID) }

// pageCursor is the cursor of the page after a row created at at with id, in a listing
// newest first by creation and id.
func pageCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

// afterCursor limits q, a newest-first listing by created_at and id, to the rows after
// cursor (pageCursor's). The range on created_at alone is what its index seeks to. A
// cursor that does not parse is EINVALID.
func afterCursor(q *gorm.DB, cursor string) (*gorm.DB, error) {
	t, id, err := parsePageCursor(cursor)
	if err != nil {
		return nil, err
	}
	return q.Where("created_at <= ? AND (created_at < ? OR id < ?)", t, t, id), nil
}

// FindDeliveryPage returns one page of deliveries, newest first, how many match (the
// cursor aside; counted up to CountCap, see countMatches), and the cursor of the next
// page, empty on the last. A cursor that does not parse is EINVALID.
func (db *DB) FindDeliveryPage(ctx context.Context, p DeliveryPage) ([]Delivery, int64, string, error) {
	f := p.DeliveryFilter
	q := f.where(db.gorm.WithContext(ctx).Model(&Delivery{}))
	if p.WebhookIDs != nil {
		if len(p.WebhookIDs) == 0 {
			return []Delivery{}, 0, "", nil
		}
		q = q.Where("webhook_id IN ?", p.WebhookIDs)
	}
	if p.EventType != "" {
		q = q.Where("event_id IN (?)", db.gorm.Model(&Event{}).Select("id").Where("type = ?", p.EventType))
	}
	return pageByCursor(db, q, p.After, f.Offset, f.Limit, DeliveryCursor)
}

// pageByCursor reads one page of q's rows, newest first by creation and id: after
// cursor when one is given, else at offset, limit of them (100 when limit is 0 or less).
// It returns them, how many q matches (the cursor aside; counted up to CountCap, see
// countMatches), and the cursor of the next page (next's of the page's last row), empty
// on the last. An offset past the count reads nothing, however deep.
func pageByCursor[T any](db *DB, q *gorm.DB, cursor string, offset, limit int, next func(*T) string) ([]T, int64, string, error) {
	total, err := db.countMatches(q)
	if err != nil {
		return nil, 0, "", err
	}
	if cursor != "" {
		if q, err = afterCursor(q, cursor); err != nil {
			return nil, 0, "", err
		}
	} else if int64(offset) >= total {
		return []T{}, total, "", nil
	}
	if limit <= 0 {
		limit = 100
	}
	var rows []T
	if err := q.Order("created_at DESC, id DESC").Offset(max(offset, 0)).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, 0, "", db.err(err)
	}
	if len(rows) <= limit {
		return rows, total, "", nil
	}
	rows = rows[:limit]
	return rows, total, next(&rows[limit-1]), nil
}

func parsePageCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		ts, id, ok := strings.Cut(string(b), "|")
		if t, perr := time.Parse(time.RFC3339Nano, ts); ok && perr == nil && id != "" {
			return t, id, nil
		}
	}
	return time.Time{}, "", Errorf(EINVALID, "cursor is not one this API gave out (nextCursor).")
}
