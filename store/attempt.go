package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Attempt is one HTTP request of a delivery, as sent and as answered. Secrets in headers
// are redacted before it is stored.
type Attempt struct {
	ID         string `gorm:"primaryKey;size:64"`
	DeliveryID string `gorm:"size:64;not null;index"`
	// WebhookDigest stands for its delivery's webhook (webhookDigest); the store sets it
	// when it records the attempt of a dialect that lists its webhooks' logs
	// (LogAttemptsByWebhook). A webhook's log is read by it (attemptWebhookIndexSQL)
	// rather than through every delivery the webhook ever had. 0 for none.
	WebhookDigest   int64             `gorm:"not null;default:0"`
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

// attemptWebhookIndexSQL indexes the attempts by webhook and time, the order of a
// webhook's log (AttemptsOfWebhook), so that a page reads that page and the count reads
// the webhook's entries alone, up to the cap. Through the deliveries, both read every
// attempt the webhook had and sorted them: 57-63 ms a page on SQLite at 20,600 attempts,
// on the connection every publish waits for. The ids that break ties in that order are
// not in it (26 B an attempt): the attempts of one millisecond are few, and both backends
// sort just those (SQLite's temporary tree for the order's last term, PostgreSQL's
// incremental sort).
//
// Only the attempts of the dialects that list a webhook's log (LogAttemptsByWebhook) have
// a digest, and only those are in the index: the others' attempts cost it nothing (26 B a
// delivered event, and the index entry each attempt wrote). A query of it says
// webhookLogged as well, which lets SQLite use it.
const (
	attemptWebhookIndexSQL = `CREATE INDEX IF NOT EXISTS idx_attempt_webhook_log ON attempts (webhook_digest, started_at)
WHERE webhook_digest <> 0`
	webhookLogged = "webhook_digest <> 0"
)

// webhookLogs are the dialects whose attempts are in the webhooks' log index.
type webhookLogs struct {
	mu       sync.RWMutex
	dialects map[string]bool
}

// LogAttemptsByWebhook has the store keep the attempts of dialect's deliveries, from now
// on, in the webhooks' log index that AttemptsOfWebhook reads: a dialect whose API lists a
// webhook's attempts says so when it is built, before any is recorded. The attempts of
// the others are not in it, and AttemptsOfWebhook finds none of theirs.
func (db *DB) LogAttemptsByWebhook(dialect string) {
	db.webhookLogs.mu.Lock()
	defer db.webhookLogs.mu.Unlock()
	if db.webhookLogs.dialects == nil {
		db.webhookLogs.dialects = map[string]bool{}
	}
	db.webhookLogs.dialects[dialect] = true
}

// digest is what an attempt of webhookID's, a delivery in dialect, keeps of its webhook:
// its digest if dialect lists its webhooks' logs, 0 otherwise.
func (l *webhookLogs) digest(webhookID, dialect string) int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.dialects[dialect] {
		return 0
	}
	return webhookDigest(webhookID)
}

// webhookDigest is what an attempt keeps of its webhook's id: 64 bits of its FNV-1a hash,
// never 0. The id itself, 36 bytes in the row and again in the index, made 101 B more per
// delivered event (918.7 → 1,020 B, `-only scale -rows 20000`), the digest 26 B (945 B).
// Two webhooks of 10,000 share a digest with a chance of about 3 in 10^12; a log's page
// leaves out the attempts whose deliveries say they are another's, and only its count
// would include them.
func webhookDigest(webhookID string) int64 {
	if webhookID == "" {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(webhookID))
	if k := int64(h.Sum64()); k != 0 {
		return k
	}
	return 1
}

// settingAttemptWebhooks marks a database whose attempts all have their webhook's digest.
const settingAttemptWebhooks = "attempt_webhooks"

// migrateAttemptWebhooks gives the attempts an older version recorded their webhook's
// digest, once, before their index is made (one pass, rather than moving an entry of it
// for each row): webhook by webhook, those of its deliveries. Stopped half-way, the next
// start goes on from where it was. It runs before any dialect says whether it lists its
// webhooks' logs (LogAttemptsByWebhook), so it gives every attempt its digest; those the
// gateway records from then on have one only where their dialect asks.
func migrateAttemptWebhooks(g *gorm.DB) error {
	g = g.Session(&gorm.Session{NewDB: true}) // each statement from nothing, as in a migration's connection
	var marks []Setting
	if err := g.Where("key = ?", settingAttemptWebhooks).Find(&marks).Error; err != nil || len(marks) == 1 {
		return err
	}
	var ids []string
	if err := g.Raw(`SELECT DISTINCT webhook_id FROM deliveries`).Scan(&ids).Error; err != nil {
		return err
	}
	for _, id := range ids {
		if err := g.Exec(`UPDATE attempts SET webhook_digest = ? WHERE webhook_digest = 0
AND delivery_id IN (SELECT id FROM deliveries WHERE webhook_id = ?)`, webhookDigest(id), id).Error; err != nil {
			return err
		}
	}
	return g.Save(&Setting{Key: settingAttemptWebhooks, Value: "1"}).Error
}

// WebhookAttempt is an attempt with the delivery it belongs to.
type WebhookAttempt struct {
	Attempt
	EventName string
	EventID   string
}

// AttemptsOfWebhook returns one page of a webhook's attempts, newest first, and how many
// there are (up to CountCap and one more, see countMatches). Both read the webhook's
// entries of its index (attemptWebhookIndexSQL) alone: a page as many as it skips and
// shows, the count up to the cap. A page past the count is empty, unread: the log lists
// as many attempts as it says it has, so that no page number (a dialect's API may take
// one up to 2³⁰) walks the index further than the cap. It holds the attempts recorded
// while the webhook's dialect listed its webhooks' logs (LogAttemptsByWebhook).
func (db *DB) AttemptsOfWebhook(ctx context.Context, webhookID string, offset, limit int) ([]WebhookAttempt, int64, error) {
	g := db.gorm.WithContext(ctx)
	digest := webhookDigest(webhookID)
	total, err := db.countMatches(g.Model(&Attempt{}).Where("webhook_digest = ?", digest).Where(webhookLogged))
	if err != nil || int64(offset) >= total {
		return nil, total, err
	}
	var rows []struct {
		WebhookAttempt
		Of *string // the delivery's webhook; nil when the delivery is gone
	}
	err = g.Table("attempts").Joins("LEFT JOIN deliveries ON deliveries.id = attempts.delivery_id").
		Select("attempts.*, COALESCE(deliveries.event_name, '') AS event_name, COALESCE(deliveries.event_id, '') AS event_id, deliveries.webhook_id AS of").
		Where("attempts.webhook_digest = ?", digest).Where("attempts." + webhookLogged).
		Order("attempts.started_at DESC, attempts.id DESC").Offset(max(offset, 0)).Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, 0, db.err(err)
	}
	out := make([]WebhookAttempt, 0, len(rows))
	for _, r := range rows {
		if r.Of == nil || *r.Of == webhookID { // not another's whose digest is the same
			out = append(out, r.WebhookAttempt)
		}
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
