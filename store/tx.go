package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// rawTx is the driver-level handle of the transaction a DB runs in (sqliteTx, pgxTx),
// nil outside one: the hot statements run on it (execAll).
type rawTx interface {
	execAll(ctx context.Context, hot *hotStatements, sts []statement) ([]int64, error)
}

// InTx runs fn in one transaction; it commits when fn returns nil and rolls back
// otherwise. How is the backend's (inTx, set when it is opened).
func (db *DB) InTx(ctx context.Context, fn func(tx *DB) error) error { return db.inTx(db, ctx, fn) }

// inPgxTx is InTx on PostgreSQL.
func inPgxTx(db *DB, ctx context.Context, fn func(tx *DB) error) error {
	return db.InPgxTx(ctx, func(tx *DB, _ pgx.Tx) error { return fn(tx) })
}

// inSQLiteTx is InTx on SQLite.
func inSQLiteTx(db *DB, ctx context.Context, fn func(tx *DB) error) error {
	return db.InSQLiteTx(ctx, func(tx *DB, _ *sql.Tx) error { return fn(tx) })
}

// InPgxTx runs fn in one PostgreSQL transaction that GORM (through tx) and whoever holds
// raw (River's pgx driver) share; it commits when fn returns nil and rolls back otherwise.
func (db *DB) InPgxTx(ctx context.Context, fn func(tx *DB, raw pgx.Tx) error) error {
	if db.pool == nil {
		return Errorf(EINTERNAL, "Not a PostgreSQL database.")
	}
	// GORM runs on one pooled connection on which pgx has begun the transaction, so that
	// River's pgx driver and GORM write through the same one. GORM must not begin or
	// commit itself (SkipDefaultTransaction is set in newDB).
	return db.err(db.gorm.WithContext(ctx).Connection(func(g *gorm.DB) error {
		conn, ok := g.Statement.ConnPool.(*sql.Conn)
		if !ok {
			return errors.New("store: unexpected connection type")
		}
		var pc *pgx.Conn
		if err := conn.Raw(func(dc any) error {
			sc, ok := dc.(*stdlib.Conn)
			if !ok {
				return errors.New("store: not a pgx connection")
			}
			pc = sc.Conn()
			return nil
		}); err != nil {
			return err
		}
		ptx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer ptx.Rollback(context.WithoutCancel(ctx))
		tx := *db
		tx.gorm, tx.tx = g, pgxTx{ptx}
		if err := fn(&tx, ptx); err != nil {
			return err
		}
		return ptx.Commit(ctx)
	}))
}

// InSQLiteTx runs fn in one SQLite transaction that GORM (through tx) and whoever holds
// raw (River's SQLite driver) share; it commits when fn returns nil and rolls back
// otherwise.
func (db *DB) InSQLiteTx(ctx context.Context, fn func(tx *DB, raw *sql.Tx) error) error {
	if db.file == nil {
		return Errorf(EINTERNAL, "Not an SQLite database.")
	}
	g := db.gorm.WithContext(ctx).Begin()
	if g.Error != nil {
		return db.err(g.Error)
	}
	pool := g.Statement.ConnPool
	if p, ok := pool.(*gorm.PreparedStmtTX); ok {
		pool = p.Tx
	}
	sqlTx, ok := pool.(*sql.Tx)
	if !ok {
		g.Rollback()
		return Errorf(EINTERNAL, "Unexpected transaction type.")
	}
	// GORM's statements in the transaction are not prepared through its statement cache:
	// a statement the cache prepares waits for the one connection, which the
	// transaction holds, and the cache keeps its lock while another query waits for that
	// preparation; a transaction that needed the lock for a statement of its own waited
	// for ever (TestTransactions_DoNotWaitForTheStatementCache). The hot statements,
	// most of what transactions run, are prepared when the store opens.
	g.Statement.ConnPool = sqlTx
	tx := *db
	tx.gorm, tx.tx = g, sqliteTx{sqlTx}
	if err := fn(&tx, sqlTx); err != nil {
		g.Rollback()
		return db.err(err)
	}
	if db.file != nil {
		// What commits into a file that is no longer the database is lost at the next
		// start: refuse it rather than acknowledge it.
		if err := db.file.check(); err != nil {
			g.Rollback()
			return err
		}
	}
	return db.err(g.Commit().Error)
}
