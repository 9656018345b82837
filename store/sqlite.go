package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	gormsqlite "gorm.io/driver/sqlite"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// openSQLite opens (creating when missing) the SQLite file at path with the pure-Go driver,
// in WAL mode with a busy timeout. SQLite has one writer; one connection serialises work
// without "database is locked" errors and is what River's SQLite driver expects.
func openSQLite(ctx context.Context, path string) (*DB, error) {
	sqlDB, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, &Error{Code: EINTERNAL, Message: "Cannot open the SQLite database.", Err: err}
	}
	sqlDB.SetMaxOpenConns(1)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, &Error{Code: EINTERNAL, Message: "Cannot open the SQLite database.", Err: err}
	}
	// Parsing SQL was a third of the gateway's CPU under load (see the README's benchmark
	// section): GORM prepares each statement once and reuses it.
	db, err := newDB(BackendSQLite, gormsqlite.Dialector{DriverName: "sqlite", Conn: sqlDB}, sqlDB, true, sqliteError, func() { sqlDB.Close() })
	if err != nil {
		return nil, err
	}
	db.inTx, db.opened = inSQLiteTx, db.hot.prepare
	// Without statistics SQLite would rather read every pending delivery by status
	// (ordered ones waiting for their lane are many) and sort them; the due index holds
	// only those waiting for a time, in the order wanted.
	db.dueTable = "deliveries INDEXED BY idx_delivery_due"
	if err := db.watchFile(path); err != nil {
		db.Close()
		return nil, &Error{Code: EINTERNAL, Message: "Cannot open the SQLite database.", Err: err}
	}
	if db.file != nil { // a file, not ":memory:"
		c, err := startCheckpointer(path)
		if err != nil {
			db.Close()
			return nil, &Error{Code: EINTERNAL, Message: "Cannot open the SQLite database.", Err: err}
		}
		db.close = func() { c.close(); sqlDB.Close() }
	}
	return db, nil
}

// sqliteError is the one place SQLite driver errors become coded errors.
func sqliteError(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &Error{Code: ECONFLICT, Message: "Already exists.", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_CHECK:
			return &Error{Code: EINVALID, Message: "Invalid value.", Err: err}
		}
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_FULL:
			return &Error{Code: EUNAVAILABLE, Message: "The disk holding the database is full.", Err: err}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &Error{Code: EUNAVAILABLE, Message: "The database is busy.", Err: err}
		case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return &Error{Code: EUNAVAILABLE, Message: "The database file cannot be read or written.", Err: err}
		}
	}
	return &Error{Code: EINTERNAL, Message: "Internal error.", Err: err}
}

// sqliteDSN is the data source name of the store's connection to the SQLite file at path.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// 16 MB of page cache (the default is 2 MB), so that the hot pages of the deliveries
	// and their indexes stay in memory. The ids are time-ordered, so the pages a write
	// touches are few: 32 MB cost 28 MB more peak RSS (outside Go's heap) for no CPU per
	// delivery measured.
	q.Add("_pragma", "cache_size(-16000)")
	// Statement journals and sorts in memory: on disk each transaction that updates
	// several rows opened, wrote and closed a temporary file.
	q.Add("_pragma", "temp_store(MEMORY)")
	// The checkpoints are a checkpointer's (checkpoint.go); this one checkpoints only a
	// log the checkpointer let grow long.
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerCheckpointPages))
	// Times are stored as integers, microseconds since the Unix epoch: 8 bytes against
	// 30-odd for the driver's text, in every row and in every index on a time, and no
	// text to format or parse. (Milliseconds would take 6, but the driver reads a number
	// of them below 10¹² as seconds: any time before September 2001.)
	q.Set("_time_integer_format", "unix_micro")
	q.Set("_inttotime", "1")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}
