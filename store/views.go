package store

import (
	"context"
	"encoding/json"
	"regexp"
	"time"
)

// OwnedDeliveryFilter selects the attempted deliveries of one dialect's webhooks under
// one owner (a dialect's delivery-log view); empty fields do not filter.
type OwnedDeliveryFilter struct {
	Dialect, Owner string
	EventNames     []string
	Since, Until   time.Time
	// DataKey, when set, keeps the deliveries whose event's data has, under this top-level
	// key (letters, digits and "_"), a string that is one of DataIn: none when DataIn is
	// empty. The set is sent as one parameter, so it may be as large as a request can
	// carry.
	DataKey       string
	DataIn        []string
	Ascending     bool
	Offset, Limit int
}

// ownedDataKey is what a DataKey may be: it is put in a JSON path.
var ownedDataKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// pgBadEscapes matches the JSON escapes that PostgreSQL's json type refuses to turn into
// text, failing the whole query, though they are valid JSON (the gateway takes them): NUL
// and lone UTF-16 surrogates. Each is replaced by U+FFFD's escape before the data is
// read. Text that only looks like one (after an escaped backslash) may be changed too,
// into text as valid: a value differs only where it held such a sequence.
const pgBadEscapes = `\\u(0000|d[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2}))|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}`

// OwnedDeliveries returns one page of deliveries that have been attempted at least once
// and have an attempt kept (a pending delivery's oldest attempts may be pruned), with
// their webhooks' URLs. A negative Limit means no limit. Every filter and the page are
// the database's: it reads one page of rows, however many the owner has.
func (db *DB) OwnedDeliveries(ctx context.Context, f OwnedDeliveryFilter) ([]Delivery, map[string]string, error) {
	q := db.gorm.WithContext(ctx).Model(&Delivery{}).
		Joins("JOIN webhooks ON webhooks.id = deliveries.webhook_id").
		Where("webhooks.dialect = ? AND webhooks.owner = ? AND deliveries.attempts > 0", f.Dialect, f.Owner).
		Where("EXISTS (SELECT 1 FROM attempts WHERE attempts.delivery_id = deliveries.id)")
	if len(f.EventNames) > 0 {
		q = q.Where("deliveries.event_name IN ?", f.EventNames)
	}
	if !f.Since.IsZero() {
		q = q.Where("deliveries.created_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		q = q.Where("deliveries.created_at < ?", f.Until)
	}
	if f.DataKey != "" {
		if !ownedDataKey.MatchString(f.DataKey) {
			return nil, nil, Errorf(EINVALID, "DataKey %q is not a plain key.", f.DataKey)
		}
		if len(f.DataIn) == 0 {
			return nil, map[string]string{}, nil
		}
		in, err := json.Marshal(f.DataIn)
		if err != nil {
			return nil, nil, err
		}
		q = q.Joins("JOIN events ON events.id = deliveries.event_id")
		if db.backend == BackendPostgres {
			// events.data is text; its value under the key, when a string, unescaped.
			q = q.Where(`(SELECT CASE WHEN json_typeof(v) = 'string' THEN v #>> '{}' END FROM (SELECT (CASE
				WHEN strpos(events.data, ?) > 0 THEN regexp_replace(events.data, ?, ?, 'gi')
				ELSE events.data END)::json -> ?::text AS v) k) IN (SELECT json_array_elements_text(?::json))`,
				`\u`, pgBadEscapes, `\\ufffd`, f.DataKey, string(in))
		} else {
			// json_valid first: SQLite refuses JSON nested deeper than Go does.
			q = q.Where(`CASE WHEN json_valid(events.data) AND json_type(events.data, ?) = 'text'
				THEN json_extract(events.data, ?) END IN (SELECT value FROM json_each(?))`,
				"$."+f.DataKey, "$."+f.DataKey, string(in))
		}
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
		return nil, nil, db.err(err)
	}
	ds := make([]Delivery, len(rows))
	urls := map[string]string{}
	for i, r := range rows {
		ds[i] = r.Delivery
		urls[r.ID] = r.URL
	}
	return ds, urls, nil
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
// and how many match (up to CountCap and one more, see countMatches). A page past the
// count is empty, unread: no offset walks further than the cap.
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
	total, err := db.countMatches(q)
	if err != nil || int64(f.Offset) >= total {
		return nil, total, err
	}
	dir := "DESC"
	if f.Ascending {
		dir = "ASC"
	}
	var evs []Event
	err = q.Order("created_at " + dir + ", id " + dir).Offset(max(f.Offset, 0)).Limit(f.Limit).Find(&evs).Error
	return evs, total, db.err(err)
}
