package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// WebhookKey names one webhook the way a dialect's API does: by its external id, within
// the dialect and the caller's owner scope. A webhook of another dialect or owner is not
// found under a key, so that no API can see or touch another's webhooks.
type WebhookKey struct {
	Dialect    string
	Owner      string
	ExternalID string
}

// WebhookFilter selects webhooks for FindWebhooks. Empty fields do not filter.
type WebhookFilter struct {
	Dialect string
	// Owner filters by owner when non-nil.
	Owner *string
	// URLLike and DescriptionLike are SQL LIKE patterns with `\` as the escape character,
	// matched case-insensitively.
	URLLike         string
	DescriptionLike string
	// TenantID matches webhooks listing the tenant and every global webhook.
	TenantID string
	// Health is HealthHealthy, HealthFailing or HealthDisabled; empty does not filter.
	Health string

	Offset int
	// Limit is the page size; zero or less means no limit.
	Limit   int
	OrderBy []WebhookOrder
}

// WebhookOrder sorts webhooks by one field.
type WebhookOrder struct {
	Field string
	Desc  bool
}

// Fields webhooks can be sorted by.
const (
	OrderExternalID  = "external_id"
	OrderCreatedAt   = "created_at"
	OrderUpdatedAt   = "updated_at"
	OrderDescription = "description"
	OrderName        = "name"
	OrderURL         = "url"
)

var orderFields = map[string]bool{
	OrderExternalID: true, OrderCreatedAt: true, OrderUpdatedAt: true,
	OrderDescription: true, OrderName: true, OrderURL: true,
}

// CreateWebhook inserts w, filling in ID and timestamps when they are zero. Returns
// ECONFLICT when the dialect already has a webhook with w's external id.
func (db *DB) CreateWebhook(ctx context.Context, w *Webhook) error {
	if w.Dialect == "" || w.ExternalID == "" {
		return Errorf(EINVALID, "A webhook needs a dialect and an external id.")
	}
	if w.ID == "" {
		w.ID = uuid.NewString()
	}
	if len(w.SigningSecrets) == 0 {
		w.SigningSecrets = []SigningSecret{{Secret: NewSigningSecret()}}
	}
	now := db.Now()
	if w.CreatedAt.IsZero() {
		w.CreatedAt = now
	}
	if w.UpdatedAt.IsZero() {
		w.UpdatedAt = w.CreatedAt
	}
	row, err := db.sealedCopy(w)
	if err != nil {
		return err
	}
	return db.err(db.gorm.WithContext(ctx).Create(row).Error)
}

// GetWebhook returns the webhook under key. Returns ENOTFOUND when there is none.
func (db *DB) GetWebhook(ctx context.Context, key WebhookKey) (*Webhook, error) {
	return db.takeWebhook(db.gorm.WithContext(ctx).
		Where("dialect = ? AND owner = ? AND external_id = ?", key.Dialect, key.Owner, key.ExternalID))
}

// UpdateWebhook changes the webhook under key with change and stores the result,
// atomically: a change made by another writer in between is never overwritten. change
// gets the webhook as stored and edits it in place; every column but the ids, dialect,
// owner, creation time, signing secrets and delivery health is stored from it, and
// UpdatedAt is set. When another writer changed the webhook first, change runs again on
// the webhook as it is then, so it must derive everything from what it is given. An error
// from change is returned as it is, and nothing is stored. Returns ENOTFOUND when there is
// no webhook under key, and the stored webhook on success.
func (db *DB) UpdateWebhook(ctx context.Context, key WebhookKey, change func(*Webhook) error) (*Webhook, error) {
	return db.modifyWebhook(ctx, func(g *gorm.DB) *gorm.DB {
		return g.Where("dialect = ? AND owner = ? AND external_id = ?", key.Dialect, key.Owner, key.ExternalID)
	}, webhookColumns, change)
}

// webhookColumns are the columns UpdateWebhook stores: all but those that identify the
// webhook or belong to the gateway (signing secrets, health).
var webhookColumns = []string{"url", "name", "description", "events", "enabled", "global", "tenant_ids",
	"headers", "basic_auth_user", "basic_auth_password", "connect_timeout", "read_timeout",
	"ssl_certificate", "ssl_certificate_key_id", "signing_enabled", "signing_key_id", "secrets",
	"content_type", "retry", "data", "payload_filter", "extra",
	"rate_limit", "ordered"}

// maxUpdateRounds bounds how often a change is re-applied when other writers keep
// changing the same webhook first; every round one of them succeeds, so only more than
// this many writers at once can run out.
const maxUpdateRounds = 100

// modifyWebhook is the one read-modify-write of a webhook: it reads the row where selects,
// applies change, and writes columns (and UpdatedAt) back only if the row's version is
// still the one read, bumping it; otherwise it reads again and re-applies change. No
// transaction is held while change runs, so change may use the store.
func (db *DB) modifyWebhook(ctx context.Context, where func(*gorm.DB) *gorm.DB, columns []string, change func(*Webhook) error) (*Webhook, error) {
	for range maxUpdateRounds {
		read, err := db.takeWebhook(where(db.gorm.WithContext(ctx)))
		if err != nil {
			return nil, err
		}
		w := *read
		id, version, created := w.ID, w.Version, w.CreatedAt
		if err := change(&w); err != nil {
			return nil, err
		}
		w.ID, w.Version, w.CreatedAt = id, version+1, created
		w.UpdatedAt = db.Now()
		if w.UpdatedAt.Before(w.CreatedAt) {
			w.UpdatedAt = w.CreatedAt
		}
		row, err := db.sealedCopy(&w)
		if err != nil {
			return nil, err
		}
		res := db.gorm.WithContext(ctx).Model(&Webhook{}).
			Where("id = ? AND version = ?", id, version).
			Select(append([]string{"version", "updated_at"}, columns...)).
			Updates(row)
		if res.Error != nil {
			return nil, db.err(res.Error)
		}
		if res.RowsAffected == 1 {
			return &w, nil
		}
		// Changed (or deleted) since it was read: read it again.
		if err := ctx.Err(); err != nil {
			return nil, db.err(err)
		}
	}
	return nil, Errorf(ECONFLICT, "The webhook is being changed by too many clients at once; try again.")
}

// DeleteWebhook deletes the webhook under key. Returns ENOTFOUND when there is none.
func (db *DB) DeleteWebhook(ctx context.Context, key WebhookKey) error {
	res := db.gorm.WithContext(ctx).
		Where("dialect = ? AND owner = ? AND external_id = ?", key.Dialect, key.Owner, key.ExternalID).
		Delete(&Webhook{})
	if res.Error != nil {
		return db.err(res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "Webhook not found.")
	}
	return nil
}

// FindWebhooks returns one page of the webhooks f selects and how many it selects in all.
// Without an order the page is sorted by creation time, then id.
func (db *DB) FindWebhooks(ctx context.Context, f WebhookFilter) ([]Webhook, int64, error) {
	q := db.gorm.WithContext(ctx).Model(&Webhook{})
	if f.Dialect != "" {
		q = q.Where("dialect = ?", f.Dialect)
	}
	if f.Owner != nil {
		q = q.Where("owner = ?", *f.Owner)
	}
	if f.URLLike != "" {
		q = q.Where(`LOWER(url) LIKE LOWER(?) ESCAPE '\'`, f.URLLike)
	}
	if f.DescriptionLike != "" {
		q = q.Where(`LOWER(description) LIKE LOWER(?) ESCAPE '\'`, f.DescriptionLike)
	}
	if f.TenantID != "" {
		// TenantIDs is a JSON array of strings; tenant ids are validated UUIDs, so a
		// quoted substring match is exact and works the same on both backends.
		q = q.Where(`(global = ? OR `+tenantIDsHoldSQL+`)`, true, tenantIDsPattern(f.TenantID))
	}
	q, err := whereHealth(q, f.Health)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, db.err(err)
	}
	order := f.OrderBy
	if len(order) == 0 {
		order = []WebhookOrder{{Field: OrderCreatedAt}}
	}
	var clauses []string
	for _, o := range order {
		if !orderFields[o.Field] {
			return nil, 0, Errorf(EINVALID, "Cannot sort webhooks by %q.", o.Field)
		}
		dir := "ASC"
		if o.Desc {
			dir = "DESC"
		}
		clauses = append(clauses, fmt.Sprintf("%s %s", o.Field, dir))
	}
	clauses = append(clauses, "id ASC")
	q = q.Order(strings.Join(clauses, ", ")).Offset(max(f.Offset, 0))
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var ws []Webhook
	if err := q.Find(&ws).Error; err != nil {
		return nil, 0, db.err(err)
	}
	if err := db.openAll(ws); err != nil {
		return nil, 0, err
	}
	return ws, total, nil
}

// NewSigningSecret returns a new Standard Webhooks secret: "whsec_" and the base64 of 24
// random bytes.
func NewSigningSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// tenantIDsHoldSQL is the condition that a webhook's tenant_ids (a JSON array of strings)
// holds a tenant, whose argument is tenantIDsPattern's: the quoted id as a substring, the
// same on both backends (exact for an id without a quote, such as the UUIDs tenant ids
// are; for a match the dialects' scope rules decide in the end).
const tenantIDsHoldSQL = `tenant_ids LIKE ? ESCAPE '\'`

func tenantIDsPattern(tenant string) string { return `%"` + escapeLike(tenant) + `"%` }

// escapeLike escapes the LIKE metacharacters of s for a pattern with `\` as the escape.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// RotateSigningSecret gives the webhook with Polyhook's id a new signing secret. The
// current secrets keep signing for grace, then expire; expired ones are dropped. Returns
// ENOTFOUND when there is no such webhook.
func (db *DB) RotateSigningSecret(ctx context.Context, id string, grace time.Duration) (*Webhook, error) {
	return db.modifyWebhook(ctx, func(g *gorm.DB) *gorm.DB { return g.Where("id = ?", id) }, []string{"signing_secrets"},
		func(w *Webhook) error {
			now := db.Now()
			until := now.Add(grace)
			secrets := []SigningSecret{{Secret: NewSigningSecret()}}
			for _, s := range w.SigningSecrets {
				switch {
				case s.ExpiresAt != nil && !now.Before(*s.ExpiresAt):
					continue // expired
				case s.ExpiresAt == nil || s.ExpiresAt.After(until):
					s.ExpiresAt = &until
				}
				if grace > 0 {
					secrets = append(secrets, s)
				}
			}
			w.SigningSecrets = secrets
			return nil
		})
}

// WebhookState is what an attempt must know of its webhook as it is now, read without
// the rest of it: the version and creation time, which tell whether a copy read earlier
// is still the webhook's content (every change of it bumps the version), and the state
// that changes without a new version (disabling, pausing and health).
type WebhookState struct {
	Version        int64
	CreatedAt      time.Time
	Enabled        bool
	DisabledAt     *time.Time
	DisabledReason string
	FailingSince   *time.Time
	PausedAt       *time.Time
}

// WebhookStateByID reads a webhook's state. Returns ENOTFOUND when there is none.
func (db *DB) WebhookStateByID(ctx context.Context, id string) (*WebhookState, error) {
	states, err := db.WebhookStates(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	st, ok := states[id]
	if !ok {
		return nil, Errorf(ENOTFOUND, "Webhook not found.")
	}
	return st, nil
}

// WebhookStates reads the states of webhooks, by id; a webhook that does not exist is
// missing from the result.
func (db *DB) WebhookStates(ctx context.Context, ids []string) (map[string]*WebhookState, error) {
	out := make(map[string]*WebhookState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT id, version, created_at, enabled, disabled_at, disabled_reason, failing_since, paused_at
FROM webhooks WHERE id IN ?`, ids).Rows()
	if err != nil {
		return nil, db.err(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id       string
			st       WebhookState
			disabled sql.NullTime
			failing  sql.NullTime
			paused   sql.NullTime
		)
		if err := rows.Scan(&id, &st.Version, &st.CreatedAt, &st.Enabled, &disabled, &st.DisabledReason, &failing, &paused); err != nil {
			return nil, db.err(err)
		}
		if disabled.Valid {
			t := disabled.Time
			st.DisabledAt = &t
		}
		if failing.Valid {
			t := failing.Time
			st.FailingSince = &t
		}
		if paused.Valid {
			t := paused.Time
			st.PausedAt = &t
		}
		out[id] = &st
	}
	return out, db.err(rows.Err())
}

// Same reports whether w, read earlier, is still the webhook's content.
func (st *WebhookState) Same(w *Webhook) bool {
	return w != nil && w.Version == st.Version && w.CreatedAt.Equal(st.CreatedAt)
}

// Apply returns a copy of w with the state st read.
func (st *WebhookState) Apply(w *Webhook) *Webhook {
	c := *w
	c.Enabled, c.DisabledAt, c.DisabledReason, c.FailingSince = st.Enabled, st.DisabledAt, st.DisabledReason, st.FailingSince
	c.PausedAt = st.PausedAt
	return &c
}

// WebhookByID returns the webhook with Polyhook's id. Returns ENOTFOUND when there is none.
func (db *DB) WebhookByID(ctx context.Context, id string) (*Webhook, error) {
	return db.takeWebhook(db.gorm.WithContext(ctx).Where("id = ?", id))
}

// MatchCandidates returns the active webhooks of the given dialects whose scope covers
// tenant: global ones always, and those owned by or listing the tenant when one is given.
// Whether a candidate takes the tenant (its scope rule) and subscribes to the event is
// for its dialect to say.
func (db *DB) MatchCandidates(ctx context.Context, dialects []string, tenant string) ([]Webhook, error) {
	return db.matchCandidates(ctx, dialects, tenant, nil)
}

// MatchSubscribers is MatchCandidates narrowed, in the query, to the webhooks whose events
// hold one of names (a superset of those that subscribe: their dialects still decide).
// A scope of 10,000 webhooks of which one subscribes is then one row to read and decode
// rather than 10,000.
func (db *DB) MatchSubscribers(ctx context.Context, dialects []string, tenant string, names []string) ([]Webhook, error) {
	if len(names) == 0 {
		return nil, nil
	}
	return db.matchCandidates(ctx, dialects, tenant, names)
}

// eventsIndexSQL indexes, on PostgreSQL, the names each webhook subscribes to, for
// MatchSubscribers: the column is text (GORM's JSON serializer), read as jsonb. Without
// fastupdate: a GIN index otherwise keeps new entries in a pending list that every search
// reads through until a vacuum merges it, and webhooks are written rarely and searched at
// every publish (10,000 webhooks just made: 1.5 ms a search against 0.08).
var eventsIndexSQL = []string{
	`CREATE INDEX IF NOT EXISTS idx_webhook_events ON webhooks USING gin ((events::jsonb) jsonb_path_ops) WITH (fastupdate = off)`,
	`ALTER INDEX idx_webhook_events SET (fastupdate = off)`,
	`SELECT gin_clean_pending_list('idx_webhook_events'::regclass)`,
}

// maxMatchNames bounds the names one MatchSubscribers query tests: past it, it reads the
// whole scope.
const maxMatchNames = 64

func (db *DB) matchCandidates(ctx context.Context, dialects []string, tenant string, names []string) ([]Webhook, error) {
	q := db.gorm.WithContext(ctx).Where("dialect IN ? AND enabled = ? AND disabled_at IS NULL", dialects, true)
	if len(names) > 0 && len(names) <= maxMatchNames {
		// The events column is the JSON array the serializer wrote. On PostgreSQL it is
		// indexed as jsonb (eventsIndexSQL) and a subscriber found by containment, without
		// reading the others; on SQLite, whose one process keeps what it matched, a
		// subscribed name is in the text as the same serializer writes the name alone.
		conds := make([]string, 0, len(names))
		args := make([]any, 0, len(names))
		for _, n := range names {
			j, err := json.Marshal(n)
			if err != nil {
				return nil, db.err(err)
			}
			if db.backend == BackendPostgres {
				conds = append(conds, `events::jsonb @> ?::jsonb`)
				args = append(args, "["+string(j)+"]")
			} else {
				conds = append(conds, `events LIKE ? ESCAPE '\'`)
				args = append(args, "%"+escapeLike(string(j))+"%")
			}
		}
		q = q.Where("("+strings.Join(conds, " OR ")+")", args...)
	}
	if tenant == "" {
		q = q.Where("global = ?", true)
	} else {
		q = q.Where(`(global = ? OR owner = ? OR `+tenantIDsHoldSQL+`)`, true, tenant, tenantIDsPattern(tenant))
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

// WebhookWrites returns how many statements have written to webhooks through this store
// since it was opened. Whether that is every write there is (one process owns an SQLite
// file; replicas share a PostgreSQL database) is the delivery driver's to say.
func (db *DB) WebhookWrites() uint64 { return db.webhookWrites.Load() }

// rawWebhookWrite matches a raw statement that writes to webhooks.
var rawWebhookWrite = regexp.MustCompile("(?i)^\\s*(UPDATE|DELETE\\s+FROM|INSERT\\s+INTO|REPLACE\\s+INTO)\\s+[`\"]?webhooks\\b")

// countWebhookWrites counts, after the statement, every create, update and delete of
// webhooks that changed a row, and every raw statement that writes to the table.
func (db *DB) countWebhookWrites() error {
	count := func(g *gorm.DB) {
		if g.RowsAffected == 0 {
			return
		}
		if g.Statement.Table == "webhooks" || rawWebhookWrite.MatchString(g.Statement.SQL.String()) {
			db.webhookWrites.Add(1)
		}
	}
	cb := db.gorm.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("polyhook:webhook_writes", count),
		cb.Update().After("gorm:update").Register("polyhook:webhook_writes", count),
		cb.Delete().After("gorm:delete").Register("polyhook:webhook_writes", count),
		cb.Raw().After("gorm:raw").Register("polyhook:webhook_writes", count),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
