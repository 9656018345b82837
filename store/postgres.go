package store

import (
	"context"
	"errors"

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
	db, err := newDB(BackendPostgres, gormpostgres.New(gormpostgres.Config{Conn: sqlDB}), sqlDB, postgresError, func() {
		sqlDB.Close()
		pool.Close()
	})
	if err != nil {
		return nil, err
	}
	db.pool = pool
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
		}
	}
	return &Error{Code: EINTERNAL, Message: "Internal error.", Err: err}
}
