package store

import (
	"container/heap"
	"context"
	"encoding/json"
	"math"
	"regexp"
	"slices"
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
// their webhooks' URLs. A negative Limit means no limit. Every filter is the database's,
// and the page is read webhook by webhook in the order of its index (ownedStream): a
// page reads about as many rows as it skips and returns, not every row the owner has.
// (Ordered across the owner's webhooks in one query, the database sorted all of them
// for each page: 22 ms on SQLite for the first page of a webhook with 20,600 attempted
// deliveries, growing with the history; now 0.2 ms.)
func (db *DB) OwnedDeliveries(ctx context.Context, f OwnedDeliveryFilter) ([]Delivery, map[string]string, error) {
	if f.DataKey != "" {
		if !ownedDataKey.MatchString(f.DataKey) {
			return nil, nil, Errorf(EINVALID, "DataKey %q is not a plain key.", f.DataKey)
		}
		if len(f.DataIn) == 0 {
			return nil, map[string]string{}, nil
		}
	}
	var hooks []struct{ ID, URL string }
	if err := db.gorm.WithContext(ctx).Model(&Webhook{}).Select("id, url").
		Where("dialect = ? AND owner = ?", f.Dialect, f.Owner).Order("id").Scan(&hooks).Error; err != nil {
		return nil, nil, db.err(err)
	}
	urls := make(map[string]string, len(hooks)) // by webhook
	if len(hooks) == 0 || f.Limit == 0 {
		return nil, map[string]string{}, nil
	}
	need := math.MaxInt
	if f.Limit > 0 {
		need = max(f.Offset, 0) + f.Limit
	}
	var dataIn string
	if f.DataKey != "" {
		in, err := json.Marshal(f.DataIn)
		if err != nil {
			return nil, nil, err
		}
		dataIn = string(in)
	}
	streams := make(ownedHeap, 0, len(hooks))
	for _, h := range hooks {
		urls[h.ID] = h.URL
		s := &ownedStream{db: db, f: &f, webhookID: h.ID, dataIn: dataIn, chunk: min(need, ownedFirstChunk)}
		if err := s.fill(ctx); err != nil {
			return nil, nil, err
		}
		if len(s.keys) > 0 {
			streams = append(streams, s)
		}
	}
	heap.Init(&streams)
	var page []string
	for n := 0; n < need && len(streams) > 0; n++ {
		s := streams[0]
		if n >= f.Offset {
			page = append(page, s.keys[0].ID)
		}
		s.keys = s.keys[1:]
		if len(s.keys) == 0 && n+1 < need {
			s.chunk = min(2*s.chunk, ownedMaxChunk, need-n-1)
			if err := s.fill(ctx); err != nil {
				return nil, nil, err
			}
		}
		if len(s.keys) == 0 {
			heap.Pop(&streams)
		} else {
			heap.Fix(&streams, 0)
		}
	}
	if len(page) == 0 {
		return nil, map[string]string{}, nil
	}
	var rows []Delivery
	for chunk := range slices.Chunk(page, 500) {
		var part []Delivery
		if err := db.gorm.WithContext(ctx).Where("id IN ?", chunk).Find(&part).Error; err != nil {
			return nil, nil, db.err(err)
		}
		rows = append(rows, part...)
	}
	at := make(map[string]int, len(page))
	for i, id := range page {
		at[id] = i
	}
	ds := make([]Delivery, len(page))
	found := 0
	for _, d := range rows {
		if i, ok := at[d.ID]; ok {
			ds[i] = d
			found++
		}
	}
	if found < len(page) {
		// Deleted between the two reads (the prune): the page is shorter.
		ds = slices.DeleteFunc(ds, func(d Delivery) bool { return d.ID == "" })
	}
	byDelivery := make(map[string]string, len(ds))
	for _, d := range ds {
		byDelivery[d.ID] = urls[d.WebhookID]
	}
	return ds, byDelivery, nil
}

// ownedFirstChunk and ownedMaxChunk bound the keys an ownedStream reads at a time: the
// first read is about a page, each next twice the last, so that a deep page takes a few
// reads of each webhook, not one per page's worth.
const (
	ownedFirstChunk = 64
	ownedMaxChunk   = 4096
)

// ownedKey is where a delivery sorts in an owner's log.
type ownedKey struct {
	ID        string
	CreatedAt time.Time
}

// ownedStream is one webhook's deliveries matching an OwnedDeliveryFilter, in the page's
// order, read in chunks of keys by the webhook's index on (webhook_id, created_at).
type ownedStream struct {
	db        *DB
	f         *OwnedDeliveryFilter
	webhookID string
	dataIn    string
	chunk     int
	keys      []ownedKey
	last      *ownedKey
	done      bool
}

// fill reads the stream's next chunk of keys, after the last it read.
func (s *ownedStream) fill(ctx context.Context) error {
	if s.done {
		return nil
	}
	f, db := s.f, s.db
	q := db.gorm.WithContext(ctx).Model(&Delivery{}).
		Where("deliveries.webhook_id = ? AND deliveries.attempts > 0", s.webhookID).
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
		q = q.Joins("JOIN events ON events.id = deliveries.event_id")
		if db.backend == BackendPostgres {
			// events.data is text; its value under the key, when a string, unescaped.
			q = q.Where(`(SELECT CASE WHEN json_typeof(v) = 'string' THEN v #>> '{}' END FROM (SELECT (CASE
				WHEN strpos(events.data, ?) > 0 THEN regexp_replace(events.data, ?, ?, 'gi')
				ELSE events.data END)::json -> ?::text AS v) k) IN (SELECT json_array_elements_text(?::json))`,
				`\u`, pgBadEscapes, `\\ufffd`, f.DataKey, s.dataIn)
		} else {
			// json_valid first: SQLite refuses JSON nested deeper than Go does.
			q = q.Where(`CASE WHEN json_valid(events.data) AND json_type(events.data, ?) = 'text'
				THEN json_extract(events.data, ?) END IN (SELECT value FROM json_each(?))`,
				"$."+f.DataKey, "$."+f.DataKey, s.dataIn)
		}
	}
	dir, cmp := "DESC", "<"
	if f.Ascending {
		dir, cmp = "ASC", ">"
	}
	if s.last != nil {
		// The range on created_at alone is what the index seeks to.
		q = q.Where("deliveries.created_at "+cmp+"= ? AND (deliveries.created_at "+cmp+" ? OR deliveries.id "+cmp+" ?)",
			s.last.CreatedAt, s.last.CreatedAt, s.last.ID)
	}
	var keys []ownedKey
	if err := q.Select("deliveries.id, deliveries.created_at").
		Order("deliveries.created_at " + dir + ", deliveries.id " + dir).Limit(s.chunk).Scan(&keys).Error; err != nil {
		return db.err(err)
	}
	s.keys, s.done = keys, len(keys) < s.chunk
	if len(keys) > 0 {
		s.last = &keys[len(keys)-1]
	}
	return nil
}

// ownedHeap orders streams by their next key, first in the page's order.
type ownedHeap []*ownedStream

func (h ownedHeap) Len() int { return len(h) }
func (h ownedHeap) Less(i, j int) bool {
	a, b := h[i].keys[0], h[j].keys[0]
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt) != h[i].f.Ascending
	}
	return (a.ID > b.ID) != h[i].f.Ascending
}
func (h ownedHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *ownedHeap) Push(x any)   { *h = append(*h, x.(*ownedStream)) }
func (h *ownedHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
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
