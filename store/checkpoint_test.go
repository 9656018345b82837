package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// openWriter opens a connection to a new SQLite file at path as the store's is, and makes
// a table of blobs in it.
func openWriter(t *testing.T, path string) *sql.DB {
	t.Helper()
	w, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	w.SetMaxOpenConns(1)
	if _, err := w.ExecContext(context.Background(), "CREATE TABLE blobs (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	return w
}

// The store's connection leaves the log to the checkpointer: it commits past SQLite's
// default of 1,000 pages without copying anything into the database file, and one
// checkpoint from the checkpointer's connection copies it all.
func TestCheckpointer_CopiesTheLogOffTheWritersPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ck.db")
	w := openWriter(t, path)
	const rows = 1100 // a page each, and more: past 1,000 pages of log
	for i := 0; i < rows; i += 50 {
		if _, err := w.ExecContext(ctx, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 50) INSERT INTO blobs SELECT randomblob(4000) FROM n"); err != nil {
			t.Fatal(err)
		}
	}
	if got := fileSize(t, path); got > 1<<20 {
		t.Fatalf("the database file holds %d bytes before any checkpoint of the checkpointer: the writer checkpointed by itself", got)
	}
	if got := fileSize(t, path+"-wal"); got < rows*4000 {
		t.Fatalf("the log holds %d bytes after %d rows of 4,000", got, rows)
	}

	c, err := newCheckpointer(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.conn.Close()
	if got := fileSize(t, path); got < rows*4000 {
		t.Fatalf("the database file holds %d bytes after the checkpointer's checkpoint, want the %d rows of 4,000 bytes", got, rows)
	}
	var n int
	if err := w.QueryRowContext(ctx, "SELECT count(*) FROM blobs").Scan(&n); err != nil || n != rows {
		t.Fatalf("after the checkpoint the writer reads %d rows (%v), want %d", n, err, rows)
	}
}

// The checkpointer checkpoints at each tick of its clock, off the writer's connection,
// until it is closed.
func TestCheckpointer_CheckpointsAtEachTick(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ck.db")
	w := openWriter(t, path)
	c, err := newCheckpointer(path)
	if err != nil {
		t.Fatal(err)
	}
	tick := make(chan time.Time)
	go c.run(tick)
	defer c.close()
	before := fileSize(t, path)
	if _, err := w.ExecContext(ctx, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200) INSERT INTO blobs SELECT randomblob(4000) FROM n"); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path); got != before {
		t.Fatalf("the database file went from %d to %d bytes before a tick", before, got)
	}
	// The loop takes a tick only once done with the one before: two sends, one checkpoint.
	tick <- time.Now()
	tick <- time.Now()
	if got := fileSize(t, path); got < before+200*4000 {
		t.Fatalf("the database file holds %d bytes after a tick, want the 200 rows of 4,000 bytes", got)
	}
}

// A clean close leaves no log behind: the store's connection closes after the
// checkpointer's, last, and folds the log into the file.
func TestOpen_SQLiteClosesClean(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ck.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.gorm.WithContext(ctx).Exec("CREATE TABLE blobs (b BLOB)").Error; err != nil {
		db.Close()
		t.Fatal(err)
	}
	if err := db.gorm.WithContext(ctx).Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200) INSERT INTO blobs SELECT randomblob(4000) FROM n").Error; err != nil {
		db.Close()
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		db.Close()
		t.Fatalf("no log while open: %v", err)
	}
	db.Close()
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Fatalf("the log is left after a clean close (%v)", err)
	}
	if got := fileSize(t, path); got < 200*4000 {
		t.Fatalf("the database file holds %d bytes after a clean close, want the 200 rows of 4,000 bytes", got)
	}
}
