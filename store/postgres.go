package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	gormpostgres "gorm.io/driver/postgres"
)

// openPostgres opens a pgx pool for dsn and runs GORM on top of it, so that the same pool
// can be shared with the job queue.
func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, &Error{Code: EINTERNAL, Message: "Cannot open the PostgreSQL database.", Err: err}
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, &Error{Code: EINTERNAL, Message: "Cannot reach the PostgreSQL database.", Err: err}
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	// pgx caches prepared statements per connection: GORM need not.
	db, err := newDB(BackendPostgres, gormpostgres.New(gormpostgres.Config{Conn: sqlDB}), sqlDB, false, postgresError, func() {
		sqlDB.Close()
		pool.Close()
	})
	if err != nil {
		return nil, err
	}
	db.pool = pool
	db.inTx, db.opened = inPgxTx, func(context.Context) error { return nil }
	db.dueTable = "deliveries" // PostgreSQL plans from its statistics
	return db, nil
}

// postgresError is the one place PostgreSQL errors become coded errors.
func postgresError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return &Error{Code: ECONFLICT, Message: "Already exists.", Err: err}
		case "23502", "23514", "22001", "22P02":
			return &Error{Code: EINVALID, Message: "Invalid value.", Err: err}
		case "3D000", "3F000", "42P01":
			// The database, the schema or a table is gone: the database was dropped or
			// recreated under the gateway.
			return &Error{Code: EUNAVAILABLE, Message: "The database schema is missing.", Err: err}
		case "53100", "53200", "53300", "25006", "57P01", "57P02", "57P03":
			// Disk full, out of memory, too many connections, a read-only server, shutting
			// down or starting up.
			return &Error{Code: EUNAVAILABLE, Message: "The database cannot take requests now.", Err: err}
		}
		if strings.HasPrefix(pe.Code, "08") { // connection exception
			return &Error{Code: EUNAVAILABLE, Message: "The database cannot be reached.", Err: err}
		}
		return &Error{Code: EINTERNAL, Message: "Internal error.", Err: err}
	}
	if unreachable(err) {
		return &Error{Code: EUNAVAILABLE, Message: "The database cannot be reached.", Err: err}
	}
	return &Error{Code: EINTERNAL, Message: "Internal error.", Err: err}
}

// unreachable reports whether err says the server could not be reached or the connection
// broke: refused, reset, timed out, closed mid-way.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
