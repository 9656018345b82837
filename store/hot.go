package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

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

// hotStatements holds the hot statements: prepared on the pool for SQLite (prepare, at
// Open) and numbered for PostgreSQL. Read-only once Open returns; shared by a DB and its
// transactions.
type hotStatements struct {
	pool     *sql.DB
	prepared map[string]*sql.Stmt
	numbered map[string]string // the query with PostgreSQL's $n placeholders
}

// hotSQL are the hot statements.
var hotSQL = []string{insertEventSQL, insertDeliverySQL, insertAttemptSQL, settleSQL, holdSQL, claimReadSQL, claimKeptSQL, postponeSQL,
	sequenceSQL, insertLaneDeliverySQL, insertLaneHeadSQL, insertLaneWaitingSQL, laneClaimSQL, laneDueSQL, promoteSQL, activitySQL, markHealthySQL,
	webhookMinuteSQL, insertNoticeSQL, insertRecoveredSQL, setFailingSQL, disableOnceSQL}

// postgresHotSQL are the hot statements only PostgreSQL runs: never prepared on SQLite.
var postgresHotSQL = []string{recoveredSQL}

func newHotStatements(pool *sql.DB) *hotStatements {
	h := &hotStatements{pool: pool, prepared: map[string]*sql.Stmt{}, numbered: map[string]string{}}
	for _, q := range slices.Concat(hotSQL, postgresHotSQL) {
		h.numbered[q] = dollars(q)
	}
	return h
}

// prepare prepares the hot statements on the pool, once the tables exist: what SQLite
// does when it opens (DB.opened). It must run outside any transaction: SQLite's one
// connection is the transaction's while one is open.
func (h *hotStatements) prepare(ctx context.Context) error {
	for _, q := range hotSQL {
		s, err := h.pool.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		h.prepared[q] = s
	}
	return nil
}

// dollars returns query with its ? placeholders numbered for PostgreSQL. The hot
// statements carry no ? other than their placeholders.
func dollars(query string) string {
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
	return b.String()
}

// statement is one hot statement (one of hotSQL) and its arguments, for execAll.
type statement struct {
	query string
	args  []any
}

// execAll runs statements in order, in db's transaction or in one of its own, and
// returns how many rows each changed, the way of db's backend (sqliteTx, pgxTx).
func (db *DB) execAll(ctx context.Context, sts []statement) ([]int64, error) {
	if db.tx == nil && db.pool != nil {
		// PostgreSQL runs a batch sent outside a transaction as one transaction of its
		// own (the statements up to the protocol's Sync), committed before the batch's
		// last answer: one round trip, where BEGIN, the batch and COMMIT took three. The
		// publisher's and the recorder's transactions waited on those round trips, one
		// at a time per process, with the server's CPU to spare.
		return sendBatch(ctx, db.pool, db.hot, sts)
	}
	if db.tx == nil {
		var n []int64
		err := db.InTx(ctx, func(tx *DB) error {
			var err error
			n, err = tx.execAll(ctx, sts)
			return err
		})
		return n, err
	}
	return db.tx.execAll(ctx, db.hot, sts)
}

// pgxTx is a PostgreSQL transaction's handle: its statements go in one round trip (a
// pgx batch) rather than one each: a publish group's or an attempt batch's rows were as
// many round trips, most of the gateway's and the server's work. pgx caches their
// prepared forms per connection.
type pgxTx struct{ tx pgx.Tx }

func (t pgxTx) execAll(ctx context.Context, hot *hotStatements, sts []statement) ([]int64, error) {
	return sendBatch(ctx, t.tx, hot, sts)
}

// sendBatch sends statements in one pgx batch on conn (a transaction, or the pool: then
// the batch is a transaction of its own) and returns how many rows each changed. It
// returns once the server has answered the whole batch, its commit included.
func sendBatch(ctx context.Context, conn interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}, hot *hotStatements, sts []statement) ([]int64, error) {
	n := make([]int64, len(sts))
	b := &pgx.Batch{}
	for _, st := range sts {
		b.Queue(hot.numbered[st.query], st.args...)
	}
	br := conn.SendBatch(ctx, b)
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

// sqliteTx is an SQLite transaction's handle: each statement runs on its statement
// prepared on the pool, reused on the transaction's connection. The commit checks the
// SQLite file (see InSQLiteTx).
type sqliteTx struct{ tx *sql.Tx }

func (t sqliteTx) execAll(ctx context.Context, hot *hotStatements, sts []statement) ([]int64, error) {
	n := make([]int64, len(sts))
	for i, st := range sts {
		res, err := t.tx.StmtContext(ctx, hot.prepared[st.query]).ExecContext(ctx, st.args...)
		if err != nil {
			return nil, err
		}
		if n[i], err = res.RowsAffected(); err != nil {
			return nil, err
		}
	}
	return n, nil
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

// insertEvent also sets ev's Data to the text its row stores (compact), so that the
// first attempts send the same bytes as the retries that read it back, and their
// attempts' rows can leave it out (storedRequestBody).
func insertEvent(ev *Event) (statement, error) {
	data, err := jsonColumn(ev.Data)
	if err != nil {
		return statement{}, Errorf(EINVALID, "The event's data is not JSON.")
	}
	if s, ok := data.(string); ok && s != string(ev.Data) {
		ev.Data = json.RawMessage(s)
	}
	return statement{insertEventSQL, []any{ev.ID, ev.Type, ev.Tenant, data, ev.OccurredAt, ev.CreatedAt, ev.Deliveries}}, nil
}

// deliveryColumns are the columns a delivery's row is inserted with, in insertDelivery's
// order.
const deliveryColumns = `id, event_id, webhook_id, dialect, event_name, status, attempts,
last_status, last_error, next_attempt_at, claimed_until, claimed_by, held_at, created_at, updated_at, delivered_at, lane, lane_seq`

const insertDeliverySQL = `INSERT INTO deliveries (` + deliveryColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func insertDelivery(d *Delivery) statement {
	return statement{insertDeliverySQL, []any{d.ID, d.EventID, d.WebhookID, d.Dialect, d.EventName, d.Status, d.Attempts,
		d.LastStatus, d.LastError, d.NextAttemptAt, d.ClaimedUntil, d.ClaimedBy, d.HeldAt, d.CreatedAt, d.UpdatedAt, d.DeliveredAt,
		d.Lane, d.LaneSeq}}
}

const insertAttemptSQL = `INSERT INTO attempts (id, delivery_id, webhook_digest, number, url, started_at, duration_ms, request_headers,
request_body, response_status, response_headers, response_body, error, error_kind, omitted_headers)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertAttempt writes a, with its webhook's digest (0 for none, see webhookLogs).
func insertAttempt(a *Attempt, digest int64) (statement, error) {
	var cols [3]any
	for i, v := range []any{a.storedRequestHeaders(), a.storedResponseHeaders(), a.OmittedHeaders} {
		var err error
		if cols[i], err = jsonColumn(v); err != nil {
			return statement{}, err
		}
	}
	return statement{insertAttemptSQL, []any{a.ID, a.DeliveryID, digest, a.Number, a.URL, a.StartedAt, a.DurationMS, cols[0],
		a.storedRequestBody(), a.ResponseStatus, cols[1], a.ResponseBody, a.Error, a.ErrorKind, cols[2]}}, nil
}
