// Package pgdriver is the delivery engine's driver (delivery/driver) on PostgreSQL:
// several processes share the database, and River is woken by LISTEN/NOTIFY besides
// polling.
package pgdriver

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/store"
)

// Driver is the driver on a PostgreSQL store.
type Driver struct {
	*store.DB
}

var _ driver.Driver = (*Driver)(nil)

// New returns the driver on db, a PostgreSQL store.
func New(db *store.DB) *Driver { return &Driver{db} }

// tx is an Executor in a transaction, with the handle River inserts through.
type tx struct {
	*store.DB
	raw pgx.Tx
}

// InTx runs fn in one transaction, GORM and pgx on one connection.
func (d *Driver) InTx(ctx context.Context, fn func(driver.Executor) error) error {
	return d.InPgxTx(ctx, func(t *store.DB, raw pgx.Tx) error { return fn(&tx{t, raw}) })
}

// WebhookWrites counts this process's writes to webhooks; other replicas write too, so
// they are not every write there is.
func (d *Driver) WebhookWrites() (n uint64, local bool) { return d.DB.WebhookWrites(), false }

// Shared is true: replicas share a PostgreSQL database.
func (d *Driver) Shared() bool { return true }

// OneConnection is false: statements run on a pool.
func (d *Driver) OneConnection() bool { return false }

// pollInterval is how often River looks for jobs when the configuration does not say;
// inserts also wake it.
const pollInterval = 200 * time.Millisecond

// Queue builds River on the database's pgx pool.
func (d *Driver) Queue(ctx context.Context, cfg *river.Config) (driver.Queue, error) {
	rd := riverpgxv5.New(d.Pool())
	if err := d.migrate(ctx, rd); err != nil {
		return nil, err
	}
	if cfg.FetchPollInterval <= 0 {
		cfg.FetchPollInterval = pollInterval
	}
	if cfg.Workers != nil {
		river.AddWorker(cfg.Workers, &analyzeWorker{db: d.DB})
		cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(analyzeEvery),
			func() (river.JobArgs, *river.InsertOpts) { return analyzeArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
	client, err := river.NewClient(rd, cfg)
	if err != nil {
		return nil, err
	}
	return &queue{client}, nil
}

// analyzeArgs is the periodic job that has PostgreSQL gather the statistics it has none
// of (store.DB.AnalyzeUnknown), once a table has rows: a database the load fills has
// none until autovacuum's first analyze, which does not come where autovacuum is off,
// and the plans made meanwhile can read a whole index per row (a lane's promotions did,
// holding the rows they had made due for minutes). One replica runs it each time.
type analyzeArgs struct{}

// Kind names the job in River's tables.
func (analyzeArgs) Kind() string { return "polyhook.analyze" }

// analyzeEvery is how often the tables are looked at: a query of the catalogue each,
// and an ANALYZE only the first time a table has rows.
const analyzeEvery = time.Minute

type analyzeWorker struct {
	river.WorkerDefaults[analyzeArgs]
	db *store.DB
}

func (w *analyzeWorker) Work(ctx context.Context, _ *river.Job[analyzeArgs]) error {
	return w.db.AnalyzeUnknown(ctx)
}

// riverMigrationLock is the advisory lock replicas take around River's migration.
const riverMigrationLock = 70412027

// migrate migrates River's tables under an advisory lock: replicas starting together on
// a fresh database otherwise create River's functions at once, and all but one fail.
func (d *Driver) migrate(ctx context.Context, rd *riverpgxv5.Driver) error {
	conn, err := d.Pool().Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", riverMigrationLock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", riverMigrationLock)
	return driver.MigrateRiver(ctx, rd)
}

type queue struct {
	client *river.Client[pgx.Tx]
}

func (q *queue) InsertTx(ctx context.Context, t driver.Executor, args river.JobArgs) error {
	in, ok := t.(*tx)
	if !ok {
		return errors.New("pgdriver: not a transaction of this driver")
	}
	_, err := q.client.InsertTx(ctx, in.raw, args, nil)
	return err
}

func (q *queue) Start(ctx context.Context) error { return q.client.Start(ctx) }
func (q *queue) Stop(ctx context.Context) error  { return q.client.Stop(ctx) }
