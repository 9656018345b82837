package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// The hot path. Every publish writes an event and its deliveries, and every attempt
// writes its record and its delivery's new state; these few statements are most of what
// the database does under load. They are fixed SQL, one row each, written here rather
// than through GORM: GORM's reflection cost more than the database's own work, its
// multi-row inserts had a new shape (and a new parse) for every batch size, and on SQLite
// its prepared statements, once first used inside a transaction, were parsed again on
// every later use. Here each statement is prepared once on the pool and reused by every
// transaction (SQLite), or left to pgx's statement cache (PostgreSQL). The webhook model
// and everything off the hot path stay on GORM; TestHotColumnsAreTheModels checks that
// these statements write every column the GORM models have.

// hotStatements prepares each hot statement once. Shared by a DB and its transactions.
type hotStatements struct {
	pool    *sql.DB
	postgre bool

	mu       sync.Mutex
	prepared map[string]*sql.Stmt
	numbered map[string]string // the query with PostgreSQL's $n placeholders
}

func newHotStatements(pool *sql.DB, backend string) *hotStatements {
	return &hotStatements{pool: pool, postgre: backend == BackendPostgres,
		prepared: map[string]*sql.Stmt{}, numbered: map[string]string{}}
}

// hotSQL are the hot statements, prepared once the tables exist (see Open).
var hotSQL = []string{insertEventSQL, insertDeliverySQL, insertAttemptSQL, settleSQL, holdSQL, claimDueSQL, postponeSQL}

// prepare prepares the hot statements on the pool (SQLite). It must run outside any
// transaction: SQLite's one connection is the transaction's while one is open.
func (h *hotStatements) prepare(ctx context.Context) error {
	if h.postgre {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, q := range hotSQL {
		s, err := h.pool.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		h.prepared[q] = s
	}
	return nil
}

// stmt returns query as prepared on the pool, nil when it was not (SQLite).
func (h *hotStatements) stmt(query string) *sql.Stmt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.prepared[query]
}

// dollars returns query with its ? placeholders numbered for PostgreSQL. The hot
// statements carry no ? other than their placeholders.
func (h *hotStatements) dollars(query string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if q, ok := h.numbered[query]; ok {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	h.numbered[query] = b.String()
	return h.numbered[query]
}

// exec runs one hot statement in db's transaction (see InTx), or on its own outside one,
// and returns how many rows it changed.
func (db *DB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	if db.hot.postgre {
		q := db.hot.dollars(query)
		if db.tx.PGX != nil {
			tag, err := db.tx.PGX.Exec(ctx, q, args...)
			return tag.RowsAffected(), err
		}
		res, err := db.sql.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	if db.file != nil && db.tx.SQL == nil {
		// In a transaction the commit checks the file (see InTx).
		if err := db.file.check(); err != nil {
			return 0, err
		}
	}
	var res sql.Result
	var err error
	switch s := db.hot.stmt(query); {
	case s == nil && db.tx.SQL != nil:
		res, err = db.tx.SQL.ExecContext(ctx, query, args...)
	case s == nil:
		res, err = db.sql.ExecContext(ctx, query, args...)
	case db.tx.SQL != nil:
		// The statement prepared on the pool is reused on the transaction's connection.
		res, err = db.tx.SQL.StmtContext(ctx, s).ExecContext(ctx, args...)
	default:
		res, err = s.ExecContext(ctx, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// statement is one hot statement and its arguments, for execAll.
type statement struct {
	query string
	args  []any
}

// execAll runs statements in order in db's transaction and returns how many rows each
// changed. On PostgreSQL they go in one round trip (a pgx batch) rather than one each:
// a publish group's or an attempt batch's rows were as many round trips, most of the
// gateway's and the server's work.
func (db *DB) execAll(ctx context.Context, sts []statement) ([]int64, error) {
	n := make([]int64, len(sts))
	if db.hot.postgre && db.tx.PGX != nil && len(sts) > 1 {
		b := &pgx.Batch{}
		for _, st := range sts {
			b.Queue(db.hot.dollars(st.query), st.args...)
		}
		br := db.tx.PGX.SendBatch(ctx, b)
		for i := range sts {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return nil, err
			}
			n[i] = tag.RowsAffected()
		}
		return n, br.Close()
	}
	for i, st := range sts {
		var err error
		if n[i], err = db.exec(ctx, st.query, st.args...); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// inTx runs fn in db's transaction, or in one of its own when db is not in one.
func (db *DB) inTx(ctx context.Context, fn func(tx *DB) error) error {
	if db.tx.SQL != nil || db.tx.PGX != nil {
		return fn(db)
	}
	return db.InTx(ctx, func(tx *DB, _ RawTx) error { return fn(tx) })
}

// jsonColumn is the value GORM's JSON serializer stores for v: NULL for a nil value in a
// column that may be NULL, else the JSON text.
func jsonColumn(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	return string(b), nil
}

const insertEventSQL = `INSERT INTO events (id, type, tenant, data, occurred_at, created_at, deliveries) VALUES (?, ?, ?, ?, ?, ?, ?)`

func insertEvent(ev *Event) (statement, error) {
	data, err := jsonColumn(ev.Data)
	if err != nil {
		return statement{}, Errorf(EINVALID, "The event's data is not JSON.")
	}
	return statement{insertEventSQL, []any{ev.ID, ev.Type, ev.Tenant, data, ev.OccurredAt, ev.CreatedAt, ev.Deliveries}}, nil
}

const insertDeliverySQL = `INSERT INTO deliveries (id, event_id, webhook_id, dialect, event_name, status, attempts,
last_status, last_error, next_attempt_at, claimed_until, claimed_by, held_at, created_at, updated_at, delivered_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func insertDelivery(d *Delivery) statement {
	return statement{insertDeliverySQL, []any{d.ID, d.EventID, d.WebhookID, d.Dialect, d.EventName, d.Status, d.Attempts,
		d.LastStatus, d.LastError, d.NextAttemptAt, d.ClaimedUntil, d.ClaimedBy, d.HeldAt, d.CreatedAt, d.UpdatedAt, d.DeliveredAt}}
}

const insertAttemptSQL = `INSERT INTO attempts (id, delivery_id, number, url, started_at, duration_ms, request_headers,
request_body, response_status, response_headers, response_body, error, error_kind, omitted_headers)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func insertAttempt(a *Attempt) (statement, error) {
	var cols [3]any
	for i, v := range []any{a.RequestHeaders, a.ResponseHeaders, a.OmittedHeaders} {
		var err error
		if cols[i], err = jsonColumn(v); err != nil {
			return statement{}, err
		}
	}
	return statement{insertAttemptSQL, []any{a.ID, a.DeliveryID, a.Number, a.URL, a.StartedAt, a.DurationMS, cols[0],
		a.RequestBody, a.ResponseStatus, cols[1], a.ResponseBody, a.Error, a.ErrorKind, cols[2]}}, nil
}
