package store

import (
	"context"
	"strconv"
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
}

// The Standard Webhooks headers every attempt's request carries repeat the attempt's own
// row: webhook-id is its delivery's id, webhook-timestamp its start in Unix seconds, and
// webhook-signature, where there is one, is recorded redacted, always the same. They are
// not stored where they do (every attempt the engine makes): a mark takes their place, and
// reading the attempt puts them back. About 115 bytes of a signed attempt's row, with
// nothing lost of what its log shows.
const (
	headerWebhookID        = "Webhook-Id"
	headerWebhookTimestamp = "Webhook-Timestamp"
	headerWebhookSignature = "Webhook-Signature"
	// headersLeftOut is the mark (no HTTP header has an empty name); its value says whether
	// a redacted signature was left out too.
	headersLeftOut   = ""
	leftOutSignature = "s"
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
		mark = leftOutSignature
	}
	out := make(map[string]string, len(h)-1)
	for k, v := range h {
		if k != headerWebhookID && k != headerWebhookTimestamp && (k != headerWebhookSignature || mark == "") {
			out[k] = v
		}
	}
	out[headersLeftOut] = mark
	return out
}

// AfterFind puts back the request headers storedRequestHeaders left out, when the
// attempt was read with its delivery's id and its start (a read of some columns only
// keeps the mark, and so keeps them for the next read).
func (a *Attempt) AfterFind(*gorm.DB) error {
	mark, ok := a.RequestHeaders[headersLeftOut]
	if !ok || a.DeliveryID == "" || a.StartedAt.IsZero() {
		return nil
	}
	delete(a.RequestHeaders, headersLeftOut)
	if mark == leftOutSignature {
		a.RequestHeaders[headerWebhookSignature] = RedactedValue
	}
	a.RequestHeaders[headerWebhookID] = a.DeliveryID
	a.RequestHeaders[headerWebhookTimestamp] = strconv.FormatInt(a.StartedAt.Unix(), 10)
	return nil
}

// Attempts lists a delivery's attempts, oldest first.
func (db *DB) Attempts(ctx context.Context, deliveryID string) ([]Attempt, error) {
	var as []Attempt
	err := db.gorm.WithContext(ctx).Where("delivery_id = ?", deliveryID).Order("number ASC").Find(&as).Error
	return as, db.err(err)
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

// GetAttempt returns an attempt with its delivery. Returns ENOTFOUND when there is none.
func (db *DB) GetAttempt(ctx context.Context, id string) (*Attempt, *Delivery, error) {
	var a Attempt
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&a).Error; err != nil {
		return nil, nil, db.err(err)
	}
	d, err := db.GetDelivery(ctx, a.DeliveryID)
	return &a, d, err
}
