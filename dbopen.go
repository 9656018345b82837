package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/polyhook/polyhook/store"
)

// dbFlag is how errors name the database's flag and variable.
const dbFlag = "--db (POLYHOOK_DB)"

// openDB opens the database --db names, after checking what SQLite would only report as
// "unable to open database file": a missing or unwritable directory, a directory, a file
// that is no SQLite database or is read-only, a URL scheme no backend serves. With
// mustExist, an SQLite file that does not exist is refused rather than created: the
// commands that open the database themselves (credentials create --offline, admin-token
// reset) would otherwise make a new, empty one from a mistyped path. Every error names
// the flag and, for SQLite, the path, and is a configuration error (exit 2).
func openDB(ctx context.Context, dsn string, mustExist bool) (*store.DB, error) {
	if err := checkDB(dsn, mustExist); err != nil {
		return nil, usageError{err}
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		what := "the PostgreSQL database"
		if !store.IsPostgresURL(dsn) {
			what = "the SQLite database " + dsn
		}
		return nil, usageError{fmt.Errorf("%s: cannot open %s: %s (%v)", dbFlag, what, strings.TrimSuffix(store.ErrorMessage(err), "."), errors.Unwrap(err))}
	}
	return db, nil
}

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// checkDB says why dsn cannot be opened, when that can be seen before opening it.
func checkDB(dsn string, mustExist bool) error {
	if dsn == "" {
		return fmt.Errorf("%s is empty: give an SQLite file path or a postgres:// URL", dbFlag)
	}
	if store.IsPostgresURL(dsn) {
		return nil
	}
	if scheme, _, ok := strings.Cut(dsn, "://"); ok && !strings.ContainsAny(scheme, `/\`) {
		// The URL may hold a password: name only its scheme.
		return fmt.Errorf("%s: %q URLs are not served: give an SQLite file path, or a postgres:// or postgresql:// URL", dbFlag, scheme+"://")
	}
	st, err := os.Stat(dsn)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s: %s is a directory, not a database file (for instance %s)", dbFlag, dsn, filepath.Join(dsn, "polyhook.db"))
	case err == nil:
		return checkDBFile(dsn, st)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: cannot read %s: %w", dbFlag, dsn, unwrapPath(err))
	case mustExist:
		return fmt.Errorf("%s: %s does not exist; check the path, or pass --create to make a new database there", dbFlag, dsn)
	}
	// A new file: its directory must exist and take new files (SQLite also writes its
	// -wal and -shm files beside it).
	dir := filepath.Dir(dsn)
	dst, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: the directory %s does not exist, so %s cannot be created there", dbFlag, dir, dsn)
	case err != nil:
		return fmt.Errorf("%s: cannot read the directory %s: %w", dbFlag, dir, unwrapPath(err))
	case !dst.IsDir():
		return fmt.Errorf("%s: %s is not a directory, so %s cannot be created there", dbFlag, dir, dsn)
	}
	return checkWritableDir(dir, dsn)
}

// checkDBFile checks an existing file: an SQLite database (or empty), that can be written.
func checkDBFile(path string, st fs.FileInfo) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%s: %s is read-only; the gateway writes to its database (make it writable, or copy it)", dbFlag, path)
	}
	if err != nil {
		return fmt.Errorf("%s: cannot open %s: %w", dbFlag, path, unwrapPath(err))
	}
	defer f.Close()
	if st.Size() == 0 {
		return checkWritableDir(filepath.Dir(path), path)
	}
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteHeader) {
		return fmt.Errorf("%s: %s is not an SQLite database (it does not start as one); check the path", dbFlag, path)
	}
	return checkWritableDir(filepath.Dir(path), path)
}

// checkWritableDir makes and removes a file in dir, which is what SQLite will need to do.
func checkWritableDir(dir, path string) error {
	f, err := os.CreateTemp(dir, ".polyhook-probe-*")
	if err != nil {
		return fmt.Errorf("%s: the directory %s is not writable, and SQLite needs to write %s and its -wal and -shm files there", dbFlag, dir, filepath.Base(path))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// unwrapPath drops the *fs.PathError's own op and path, which the message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
