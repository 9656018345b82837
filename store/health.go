package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// settingReadinessProbe is the row Check writes to prove the database takes writes.
const settingReadinessProbe = "readiness_probe"

// Check reports whether the store can keep what it is given, which is what readiness
// means: the database answers, every table is still there (a database recreated under a
// running gateway has none), a write commits, and on SQLite the file is still the one
// opened (not removed with its directory, not replaced) on a disk with room left.
// Returns EUNAVAILABLE with the reason otherwise.
func (db *DB) Check(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return &Error{Code: EUNAVAILABLE, Message: "The database does not answer.", Err: err}
	}
	if db.file != nil {
		if err := db.file.check(); err != nil {
			return err
		}
		if free := diskFree(filepath.Dir(db.file.path)); free >= 0 && free < db.MinFreeBytes {
			return &Error{Code: EUNAVAILABLE, Message: fmt.Sprintf("The disk holding the database has %d bytes free.", free)}
		}
	}
	g := db.gorm.WithContext(ctx)
	for _, m := range models {
		if !g.Migrator().HasTable(m) {
			return &Error{Code: EUNAVAILABLE, Message: "The database schema is missing (was the database recreated?); restart the gateway to migrate it."}
		}
	}
	probe := &Setting{Key: settingReadinessProbe, Value: time.Now().UTC().Format(time.RFC3339Nano)}
	err := g.Transaction(func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "key"}},
			DoUpdates: clause.AssignmentColumns([]string{"value"}),
		}).Create(probe).Error
	})
	if err != nil {
		err = db.err(err)
		if ErrorCode(err) == EUNAVAILABLE {
			return err
		}
		return &Error{Code: EUNAVAILABLE, Message: "The database does not take writes.", Err: err}
	}
	return nil
}

// dbFile is the SQLite file a store opened, as it was then. A file removed (alone or with
// its directory) or replaced keeps serving the process through its open descriptor, and
// everything written to it is lost at the next start: the store refuses to write to it.
type dbFile struct {
	path string
	info os.FileInfo
}

func openedFile(path string) *dbFile {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.Mode().IsRegular() {
		return nil // not a file (":memory:"): nothing to watch
	}
	return &dbFile{path: abs, info: fi}
}

var errFileGone = errors.New("the SQLite file was removed or replaced")

// check returns EUNAVAILABLE unless the file at the path is still the one opened (same
// device and inode).
func (f *dbFile) check() error {
	fi, err := os.Stat(f.path)
	if err != nil {
		return &Error{Code: EUNAVAILABLE, Message: "The SQLite database file is gone (removed, or its directory removed); restart the gateway once it is back.", Err: err}
	}
	if !os.SameFile(fi, f.info) {
		return &Error{Code: EUNAVAILABLE, Message: "The SQLite database file was replaced by another; restart the gateway to open it.", Err: errFileGone}
	}
	return nil
}

// watchFile makes every statement check the file first, so that nothing is written to
// (or read from) a file that is no longer the database, and InTx checks it again right
// before it commits.
func (db *DB) watchFile(path string) error {
	db.file = openedFile(path)
	if db.file == nil {
		return nil
	}
	check := func(g *gorm.DB) {
		if g.Error == nil {
			if err := db.file.check(); err != nil {
				_ = g.AddError(err)
			}
		}
	}
	cb := db.gorm.Callback()
	for _, err := range []error{
		cb.Create().Before("gorm:create").Register("polyhook:file", check),
		cb.Update().Before("gorm:update").Register("polyhook:file", check),
		cb.Delete().Before("gorm:delete").Register("polyhook:file", check),
		cb.Query().Before("gorm:query").Register("polyhook:file", check),
		cb.Raw().Before("gorm:raw").Register("polyhook:file", check),
		cb.Row().Before("gorm:row").Register("polyhook:file", check),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
