package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

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
	// EventData is, when the writer sets it, the data of the event the attempt sent:
	// where the request body holds it (the members of an object, or the whole value),
	// the row keeps the body without it, and a read puts it back from the event (see
	// storedRequestBody). It is not read back.
	EventData json.RawMessage `gorm:"-"`
}

// Most bodies carry the event's data as it is stored in the event's row: the whole
// body but its envelope, and the whole of every retry's. Where the row would repeat it,
// it keeps the body without it and where it was: bodyMark, the offset in decimal,
// bodyMark, then the body's bytes before and after it. A body that begins with bodyMark
// itself (no encoder writes one) is kept behind two of them. A read puts the data back
// from the event, which outlives the attempt (the prune deletes an event only once no
// delivery of it is left).
const (
	bodyMark = "\x01"
	// minSharedData is the least data worth leaving out (the mark costs up to 10 bytes).
	minSharedData = 16
)

// sharedData is what a body repeats of data as its event's row stores it: an object's
// members (encoders that merge them into an envelope of their own keep them together),
// or any other value whole.
func sharedData(stored string) string {
	if len(stored) >= 2 && stored[0] == '{' && stored[len(stored)-1] == '}' {
		return stored[1 : len(stored)-1]
	}
	return stored
}

// storedRequestBody is what is stored of a's request body: without its event's data
// where it holds it (as the event's row does: jsonColumn's text).
func (a *Attempt) storedRequestBody() string {
	body := a.RequestBody
	if len(a.EventData) > 0 {
		stored, err := jsonColumn(a.EventData)
		if s, ok := stored.(string); ok && err == nil {
			if data := sharedData(s); len(data) >= minSharedData {
				if i := strings.Index(body, data); i >= 0 {
					return bodyMark + strconv.Itoa(i) + bodyMark + body[:i] + body[i+len(data):]
				}
			}
		}
	}
	if strings.HasPrefix(body, bodyMark) {
		return bodyMark + bodyMark + body
	}
	return body
}

// bodyWithout reads a stored body: ok when it was stored without its event's data,
// which goes back at at in rest; otherwise rest is the body.
func bodyWithout(stored string) (at int, rest string, ok bool) {
	if !strings.HasPrefix(stored, bodyMark) {
		return 0, stored, false
	}
	n := strings.Index(stored[1:], bodyMark)
	if n < 0 {
		return 0, stored, false
	}
	if n == 0 {
		return 0, stored[2:], false
	}
	at, err := strconv.Atoi(stored[1 : 1+n])
	rest = stored[2+n:]
	if err != nil || at < 0 || at > len(rest) {
		return 0, stored, false
	}
	return at, rest, true
}

// withBodies puts back into each of as the request body's event data it was stored
// without, read from the events of their deliveries. A body whose event is gone (an
// attempt the prune left behind its delivery) is left without it.
func (db *DB) withBodies(ctx context.Context, as []*Attempt) error {
	var ids []string
	seen := map[string]bool{}
	for _, a := range as {
		if _, _, ok := bodyWithout(a.RequestBody); ok && !seen[a.DeliveryID] {
			seen[a.DeliveryID] = true
			ids = append(ids, a.DeliveryID)
		}
	}
	data := map[string]string{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		rows, err := db.gorm.WithContext(ctx).Raw(`SELECT deliveries.id, events.data FROM deliveries
			JOIN events ON events.id = deliveries.event_id WHERE deliveries.id IN ?`, chunk).Rows()
		if err != nil {
			return db.err(err)
		}
		for rows.Next() {
			var id string
			var d sql.NullString
			if err := rows.Scan(&id, &d); err != nil {
				rows.Close()
				return db.err(err)
			}
			data[id] = d.String
		}
		if err := rows.Close(); err != nil {
			return db.err(err)
		}
		if err := rows.Err(); err != nil {
			return db.err(err)
		}
	}
	for _, a := range as {
		at, rest, ok := bodyWithout(a.RequestBody)
		if ok {
			rest = rest[:at] + sharedData(data[a.DeliveryID]) + rest[at:]
		}
		a.RequestBody = rest
	}
	return nil
}

// The Standard Webhooks headers every attempt's request carries repeat the attempt's own
// row: webhook-id is its delivery's id, webhook-timestamp its start in Unix seconds, and
// webhook-signature, where there is one, is recorded redacted, always the same. They are
// not stored where they do (every attempt the engine makes): a mark takes their place, and
// reading the attempt puts them back. About 115 bytes of a signed attempt's row, with
// nothing lost of what its log shows. The mark also stands for the JSON content type most
// requests have, and, in the answer's headers, for a Date a few seconds from the start.
const (
	headerWebhookID        = "Webhook-Id"
	headerWebhookTimestamp = "Webhook-Timestamp"
	headerWebhookSignature = "Webhook-Signature"
	headerContentType      = "Content-Type"
	headerDate             = "Date"
	jsonType               = "application/json"
	// headersLeftOut is the mark (no HTTP header has an empty name); in the request's
	// headers its value holds a letter for each header left out besides the id and
	// timestamp: leftOutSignature, leftOutJSONType.
	headersLeftOut   = ""
	leftOutSignature = "s"
	leftOutJSONType  = "j"
	// In the answer's headers the mark's value is the Date's seconds after the start.
	maxDateOffset = 999
)

// storedRequestHeaders is what is stored of a's request headers: without the id and
// timestamp its row gives back (and a redacted signature), and with the mark that says
// so, when both are there as the row gives them.
func (a *Attempt) storedRequestHeaders() map[string]string {
	h := a.RequestHeaders
	if id, ok := h[headerWebhookID]; !ok || id != a.DeliveryID || a.DeliveryID == "" {
		return h
	}
	if ts, ok := h[headerWebhookTimestamp]; !ok || ts != strconv.FormatInt(a.StartedAt.Unix(), 10) {
		return h
	}
	if _, ok := h[headersLeftOut]; ok {
		return h
	}
	mark := ""
	if h[headerWebhookSignature] == RedactedValue {
		mark += leftOutSignature
	}
	if h[headerContentType] == jsonType {
		mark += leftOutJSONType
	}
	out := make(map[string]string, len(h)-1)
	for k, v := range h {
		switch {
		case k == headerWebhookID, k == headerWebhookTimestamp:
		case k == headerWebhookSignature && v == RedactedValue:
		case k == headerContentType && v == jsonType:
		default:
			out[k] = v
		}
	}
	out[headersLeftOut] = mark
	return out
}

// storedResponseHeaders is what is stored of a's response headers: without a Date that
// its start gives back, to the second, and with the mark holding how many seconds after
// the start it was.
func (a *Attempt) storedResponseHeaders() map[string]string {
	h := a.ResponseHeaders
	date, ok := h[headerDate]
	if _, marked := h[headersLeftOut]; !ok || marked || a.StartedAt.IsZero() {
		return h
	}
	t, err := time.Parse(http.TimeFormat, date)
	if err != nil || t.Format(http.TimeFormat) != date {
		return h
	}
	after := t.Unix() - a.StartedAt.Unix()
	if after < -maxDateOffset || after > maxDateOffset {
		return h
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if k != headerDate {
			out[k] = v
		}
	}
	out[headersLeftOut] = strconv.FormatInt(after, 10)
	return out
}

// AfterFind puts back the headers storedRequestHeaders and storedResponseHeaders left
// out, when the attempt was read with its delivery's id and its start (a read of some
// columns only keeps the mark, and so keeps them for the next read).
func (a *Attempt) AfterFind(*gorm.DB) error {
	if a.StartedAt.IsZero() {
		return nil
	}
	if after, ok := a.ResponseHeaders[headersLeftOut]; ok {
		if n, err := strconv.ParseInt(after, 10, 64); err == nil {
			delete(a.ResponseHeaders, headersLeftOut)
			a.ResponseHeaders[headerDate] = time.Unix(a.StartedAt.Unix()+n, 0).UTC().Format(http.TimeFormat)
		}
	}
	mark, ok := a.RequestHeaders[headersLeftOut]
	if !ok || a.DeliveryID == "" {
		return nil
	}
	delete(a.RequestHeaders, headersLeftOut)
	if strings.Contains(mark, leftOutSignature) {
		a.RequestHeaders[headerWebhookSignature] = RedactedValue
	}
	if strings.Contains(mark, leftOutJSONType) {
		a.RequestHeaders[headerContentType] = jsonType
	}
	a.RequestHeaders[headerWebhookID] = a.DeliveryID
	a.RequestHeaders[headerWebhookTimestamp] = strconv.FormatInt(a.StartedAt.Unix(), 10)
	return nil
}

// Attempts lists a delivery's attempts, oldest first.
func (db *DB) Attempts(ctx context.Context, deliveryID string) ([]Attempt, error) {
	var as []Attempt
	if err := db.gorm.WithContext(ctx).Where("delivery_id = ?", deliveryID).Order("number ASC").Find(&as).Error; err != nil {
		return nil, db.err(err)
	}
	return as, db.withBodies(ctx, pointers(as))
}

// pointers is a pointer to each of as.
func pointers(as []Attempt) []*Attempt {
	ps := make([]*Attempt, len(as))
	for i := range as {
		ps[i] = &as[i]
	}
	return ps
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
	if err := db.withBodies(ctx, pointers(as)); err != nil {
		return nil, err
	}
	for _, a := range as {
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, nil
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
	if err != nil {
		return nil, 0, db.err(err)
	}
	ps := make([]*Attempt, len(out))
	for i := range out {
		ps[i] = &out[i].Attempt
	}
	return out, total, db.withBodies(ctx, ps)
}

// GetAttempt returns an attempt with its delivery. Returns ENOTFOUND when there is none.
func (db *DB) GetAttempt(ctx context.Context, id string) (*Attempt, *Delivery, error) {
	var a Attempt
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&a).Error; err != nil {
		return nil, nil, db.err(err)
	}
	if err := db.withBodies(ctx, []*Attempt{&a}); err != nil {
		return nil, nil, err
	}
	d, err := db.GetDelivery(ctx, a.DeliveryID)
	return &a, d, err
}
