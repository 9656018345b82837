package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"database/sql"

	"github.com/polyhook/polyhook/store"
)

// queue is the durable job queue behind the engine: River, on the store's own database.
type queue interface {
	// enqueue inserts one job per delivery inside the publishing transaction.
	enqueue(ctx context.Context, raw store.RawTx, ds []store.Delivery) error
	start(ctx context.Context) error
	stop(ctx context.Context) error
}

// deliverArgs is the job that sends one delivery.
type deliverArgs struct {
	DeliveryID string `json:"delivery_id"`
}

// Kind names the job in River's tables.
func (deliverArgs) Kind() string { return "polyhook.deliver" }

const deliveriesQueue = "deliveries"

// deliverWorker runs attempts. The engine counts attempts itself (Retry-After, per-webhook
// retry settings, 410), so a retry is a snooze; River's own retries only cover errors of
// the gateway itself, such as a database outage.
type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	engine  *Engine
	timeout time.Duration
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	err := w.engine.attempt(ctx, job.Args.DeliveryID)
	var s errSnooze
	if errors.As(err, &s) {
		return river.JobSnooze(s.after)
	}
	return err
}

// Timeout bounds one job: an attempt (at most maxAttemptTime) plus room to record it,
// and never more than the time after which a running job is taken for lost.
func (w *deliverWorker) Timeout(*river.Job[deliverArgs]) time.Duration { return w.timeout }

type riverQueue[TTx any] struct {
	client *river.Client[TTx]
	tx     func(store.RawTx) TTx
}

func newQueue(db *store.DB, e *Engine) (queue, error) {
	ctx := context.Background()
	jobTimeout := min(maxAttemptTime+30*time.Second, e.cfg.RescueAfter)
	workers := river.NewWorkers()
	river.AddWorker(workers, &deliverWorker{engine: e, timeout: jobTimeout})
	cfg := &river.Config{
		Queues: map[string]river.QueueConfig{
			deliveriesQueue:    {MaxWorkers: e.cfg.Workers},
			river.QueueDefault: {MaxWorkers: 2},
		},
		Workers:              workers,
		FetchPollInterval:    e.cfg.PollInterval,
		FetchCooldown:        time.Millisecond,
		RescueStuckJobsAfter: e.cfg.RescueAfter,
		MaxAttempts:          25,
		JobTimeout:           jobTimeout,
		Logger:               e.log.With("component", "river"),
		// Completed jobs are not the record of a delivery (the deliveries table is), so
		// they need not be kept long.
		CompletedJobRetentionPeriod: 10 * time.Minute,
	}
	if db.Backend() == store.BackendPostgres {
		pool := db.Pool()
		driver := riverpgxv5.New(pool)
		if err := migrate(ctx, driver); err != nil {
			return nil, err
		}
		client, err := river.NewClient(driver, cfg)
		if err != nil {
			return nil, err
		}
		return &riverQueue[pgx.Tx]{client: client, tx: func(r store.RawTx) pgx.Tx { return r.PGX }}, nil
	}
	driver := riversqlite.New(db.SQL())
	if err := migrate(ctx, driver); err != nil {
		return nil, err
	}
	// SQLite has no LISTEN/NOTIFY: workers poll.
	cfg.PollOnly = true
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, err
	}
	return &riverQueue[*sql.Tx]{client: client, tx: func(r store.RawTx) *sql.Tx { return r.SQL }}, nil
}

func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate the job queue: %w", err)
	}
	return nil
}

func (q *riverQueue[TTx]) enqueue(ctx context.Context, raw store.RawTx, ds []store.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(ds))
	for i, d := range ds {
		params[i] = river.InsertManyParams{Args: deliverArgs{DeliveryID: d.ID}, InsertOpts: &river.InsertOpts{Queue: deliveriesQueue}}
	}
	_, err := q.client.InsertManyTx(ctx, q.tx(raw), params)
	return err
}

func (q *riverQueue[TTx]) start(ctx context.Context) error { return q.client.Start(ctx) }

func (q *riverQueue[TTx]) stop(ctx context.Context) error { return q.client.Stop(ctx) }
