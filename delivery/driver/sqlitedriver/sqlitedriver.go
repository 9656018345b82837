// Package sqlitedriver is the delivery engine's driver (delivery/driver) on SQLite: one
// process owns the file, every statement waits for its one connection, and River polls,
// for SQLite has no LISTEN/NOTIFY.
package sqlitedriver

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/store"
)

// Driver is the driver on an SQLite store.
type Driver struct {
	*store.DB
}

var _ driver.Driver = (*Driver)(nil)

// New returns the driver on db, an SQLite store.
func New(db *store.DB) *Driver { return &Driver{db} }

// tx is an Executor in a transaction, with the handle River inserts through.
type tx struct {
	*store.DB
	raw *sql.Tx
}

// InTx runs fn in one transaction.
func (d *Driver) InTx(ctx context.Context, fn func(driver.Executor) error) error {
	return d.InSQLiteTx(ctx, func(t *store.DB, raw *sql.Tx) error { return fn(&tx{t, raw}) })
}

// WebhookWrites counts the writes to webhooks; they are every write there is, for one
// process owns the file: a count unchanged since a webhook was read means it is as read.
func (d *Driver) WebhookWrites() (n uint64, local bool) { return d.DB.WebhookWrites(), true }

// Shared is false: one process owns an SQLite file.
func (d *Driver) Shared() bool { return false }

// OneConnection is true: SQLite writes on one connection.
func (d *Driver) OneConnection() bool { return true }

// pollInterval is how often River looks for jobs when the configuration does not say.
const pollInterval = 100 * time.Millisecond

// Queue builds River on the SQLite file.
func (d *Driver) Queue(ctx context.Context, cfg *river.Config) (driver.Queue, error) {
	rd := riversqlite.New(d.SQL())
	if err := driver.MigrateRiver(ctx, rd); err != nil {
		return nil, err
	}
	cfg.PollOnly = true
	if cfg.FetchPollInterval <= 0 {
		cfg.FetchPollInterval = pollInterval
	}
	client, err := river.NewClient(rd, cfg)
	if err != nil {
		return nil, err
	}
	return &queue{client}, nil
}

type queue struct {
	client *river.Client[*sql.Tx]
}

func (q *queue) InsertTx(ctx context.Context, t driver.Executor, args river.JobArgs) error {
	in, ok := t.(*tx)
	if !ok {
		return errors.New("sqlitedriver: not a transaction of this driver")
	}
	_, err := q.client.InsertTx(ctx, in.raw, args, nil)
	return err
}

func (q *queue) Start(ctx context.Context) error { return q.client.Start(ctx) }
func (q *queue) Stop(ctx context.Context) error  { return q.client.Stop(ctx) }
