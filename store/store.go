// Package store keeps Polyhook's domain model (webhooks, credentials, settings) in SQLite
// or PostgreSQL through GORM. Every error it returns carries a code (see ErrorCode);
// database errors are converted in one place per backend.
package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB is the store. It is safe for concurrent use.
type DB struct {
	gorm    *gorm.DB
	sql     *sql.DB
	backend string
	// translate converts this backend's driver errors to coded errors.
	translate func(error) error
	close     func()
	// pool is the pgx pool on PostgreSQL, nil on SQLite.
	pool *pgxpool.Pool
	// file is the SQLite file as opened, nil on PostgreSQL.
	file *dbFile

	// MinFreeBytes is the free space below which Check reports an SQLite store not ready
	// (8 MiB by default): a disk that full fails the next writes.
	MinFreeBytes int64
	// PruneBatch is the most rows one statement of Prune deletes (1000 by default). Each
	// batch is a transaction of its own: a prune of millions of rows never holds the
	// database (SQLite's one writer, PostgreSQL's locks) for longer than one batch, and
	// what it deleted stays deleted should it be stopped half-way.
	PruneBatch int
	// CountCap is how far a listing counts the rows that match it (DefaultCountCap by
	// default); see countMatches.
	CountCap int64
	// sealer seals webhook secrets at rest (see SealSecrets); set once, at start.
	sealer *Sealer

	// webhookWrites counts the statements that wrote to webhooks through this store (see
	// WebhookWrites); shared by its transactions.
	webhookWrites *atomic.Uint64
	// webhookLogs are the dialects whose attempts are kept in the webhooks' log index
	// (LogAttemptsByWebhook); shared by its transactions.
	webhookLogs *webhookLogs

	// hot holds the hot path's statements (see hot.go); tx is the transaction this DB
	// runs in, nil outside one (see InTx).
	hot *hotStatements
	tx  rawTx

	// What the backend does its own way, set when it is opened (openSQLite,
	// openPostgres): how a transaction runs (InTx), and what it does once the tables
	// exist.
	inTx   func(db *DB, ctx context.Context, fn func(tx *DB) error) error
	opened func(ctx context.Context) error
	// dueTable is what DueDeliveries reads: the deliveries, through the due index where
	// the backend must be told.
	dueTable string

	// Now returns the current time; tests may replace it. Times are kept in UTC with
	// millisecond precision, the finest every dialect can show.
	Now func() time.Time
}

// Backends.
const (
	BackendSQLite   = "sqlite"
	BackendPostgres = "postgres"
)

// IsPostgresURL reports whether dsn selects PostgreSQL rather than an SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database dsn names: a postgres:// URL, or else the path of an SQLite file
// (created when missing). It runs the migrations, which are safe to run any number of
// times and, on PostgreSQL, from several replicas at once.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var (
		db  *DB
		err error
	)
	if IsPostgresURL(dsn) {
		db, err = openPostgres(ctx, dsn)
	} else {
		db, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.opened(ctx); err != nil {
		db.Close()
		return nil, db.err(err)
	}
	return db, nil
}

// newDB opens GORM on sqlDB; prepare has GORM prepare each statement once and reuse it.
func newDB(backend string, dialector gorm.Dialector, sqlDB *sql.DB, prepare bool, translate func(error) error, closeFn func()) (*DB, error) {
	g, err := gorm.Open(dialector, &gorm.Config{
		// Statements never carry secrets into logs: GORM logs nothing.
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		TranslateError:         false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		PrepareStmt:            prepare,
	})
	if err != nil {
		closeFn()
		return nil, &Error{Code: EINTERNAL, Message: "Cannot open the database.", Err: err}
	}
	db := &DB{
		gorm:          g,
		sql:           sqlDB,
		backend:       backend,
		translate:     translate,
		close:         closeFn,
		MinFreeBytes:  8 << 20,
		PruneBatch:    1000,
		CountCap:      DefaultCountCap,
		webhookWrites: &atomic.Uint64{},
		webhookLogs:   &webhookLogs{},
		hot:           newHotStatements(sqlDB),
		Now:           func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
	}
	if err := db.countWebhookWrites(); err != nil {
		closeFn()
		return nil, &Error{Code: EINTERNAL, Message: "Cannot open the database.", Err: err}
	}
	return db, nil
}

// Backend names the database in use: BackendSQLite or BackendPostgres.
func (db *DB) Backend() string { return db.backend }

// SQL returns the underlying connection pool.
func (db *DB) SQL() *sql.DB { return db.sql }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return db.err(err)
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() {
	if db.close != nil {
		db.close()
	}
}

// err converts a driver or GORM error into a coded error. Errors that already carry a code
// pass through unchanged.
func (db *DB) err(err error) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return &Error{Code: ENOTFOUND, Message: "Not found.", Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Code: EINTERNAL, Message: "The request was cancelled.", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: EUNAVAILABLE, Message: "The database did not answer in time.", Err: err}
	}
	return db.translate(err)
}

var models = []any{&Webhook{}, &Credential{}, &Setting{}, &Event{}, &Delivery{}, &Attempt{}, &SigningKey{}, &Recovery{}, &Replica{}, &PortalLink{}, &Source{}, &WebhookRate{}, &WebhookBreaker{},
	&WebhookSequence{}, &ActivityMinute{}, &Notice{}}

func (db *DB) migrate(ctx context.Context) error {
	if db.backend == BackendPostgres {
		// Replicas starting together must not migrate concurrently: hold a session-level
		// advisory lock on one connection for the whole migration.
		return db.err(db.gorm.WithContext(ctx).Connection(func(tx *gorm.DB) error {
			if err := tx.Exec("SELECT pg_advisory_lock(70412026)").Error; err != nil {
				return err
			}
			defer tx.Exec("SELECT pg_advisory_unlock(70412026)")
			if err := tx.AutoMigrate(models...); err != nil {
				return err
			}
			for _, q := range eventsIndexSQL {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			// Under the lock, on the pool: a replica starting beside counts nothing twice.
			if err := db.backfillActivity(ctx); err != nil {
				return err
			}
			if err := db.migrateWebhookMinutes(ctx, tx); err != nil {
				return err
			}
			if err := migrateAttemptWebhooks(tx); err != nil {
				return err
			}
			return migrateIndexes(tx)
		}))
	}
	g := db.gorm.WithContext(ctx)
	if err := migrateAdding(g, models...); err != nil {
		return db.err(err)
	}
	if err := db.migrateTimes(ctx); err != nil {
		return db.err(err)
	}
	if err := db.backfillActivity(ctx); err != nil {
		return db.err(err)
	}
	if err := db.migrateWebhookMinutes(ctx, g); err != nil {
		return db.err(err)
	}
	if err := migrateAttemptWebhooks(g); err != nil {
		return db.err(err)
	}
	return db.err(migrateIndexes(g))
}

// migrateAdding brings SQLite's tables to the models by adding what they lack: tables,
// columns and indexes, as AutoMigrate adds them. AutoMigrate itself also "alters" every
// column it reads back other than the model says, and SQLite alters a column only by
// copying its table: it read every text column whose default is the empty string back
// as different, and so copied events, deliveries and attempts at every start, once per
// such column (23 s at 200,000 rows a table; minutes, and twice the file, at a million).
// No column of an existing database needs altering; one that would takes a migration of
// its own.
func migrateAdding(g *gorm.DB, models ...any) error {
	m := g.Migrator()
	for _, model := range models {
		if !m.HasTable(model) {
			if err := m.CreateTable(model); err != nil {
				return err
			}
			continue
		}
		stmt := &gorm.Statement{DB: g}
		if err := stmt.Parse(model); err != nil {
			return err
		}
		for _, name := range stmt.Schema.DBNames {
			if !m.HasColumn(model, name) {
				if err := m.AddColumn(model, name); err != nil {
					return err
				}
			}
		}
		for _, idx := range stmt.Schema.ParseIndexes() {
			if !m.HasIndex(model, idx.Name) {
				if err := m.CreateIndex(model, idx.Name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// retiredIndexes are indexes older versions made that the models no longer have:
// AutoMigrate adds indexes but never drops one. The deliveries' status and claimed_until
// indexes held every delivery, and each settle moved an entry in both; their partial
// successors hold only the deliveries that did not succeed and the claims in force. The
// held deliveries' index was by time alone: the look for those to release read every
// one of them, each second. The attempts' webhook index held every attempt; its
// successor, only those of the dialects that list a webhook's log (LogAttemptsByWebhook).
var retiredIndexes = []string{"idx_deliveries_status", "idx_deliveries_claimed_until", "idx_delivery_held", "idx_attempt_webhook"}

// migrateIndexes creates the indexes AutoMigrate cannot say (a partial index on
// several columns), then drops the retired ones, so that a query never goes without.
func migrateIndexes(g *gorm.DB) error {
	for _, q := range []string{laneIndexSQL, openIndexSQL, heldIndexSQL, tenantIndexSQL, attemptWebhookIndexSQL} {
		if err := g.Exec(q).Error; err != nil {
			return err
		}
	}
	for _, name := range retiredIndexes {
		if err := g.Exec("DROP INDEX IF EXISTS " + name).Error; err != nil {
			return err
		}
	}
	return nil
}

// Pool returns the pgx pool on PostgreSQL, nil on SQLite.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }
