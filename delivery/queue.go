package delivery

import (
	"context"
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

// queue is the engine's periodic maintenance and background work: River, on the store's
// own database, whose leader inserts the periodic jobs once for all replicas. It runs the
// retention (prune), the sweep of claims that ran out, and operators' recoveries. It
// never holds a delivery: every delivery waits as a row, due at its next_attempt_at, for
// the poll (due.go).
type queue interface {
	// enqueueRecovery inserts the job that carries out a recovery.
	enqueueRecovery(ctx context.Context, raw store.RawTx, recoveryID string) error
	start(ctx context.Context) error
	stop(ctx context.Context) error
}

// deliverArgs is the job older versions queued to send one delivery. Its deliveries are
// made due (store.DB.ScheduleUnscheduled) when the engine starts; what is left of these
// jobs completes without doing anything.
type deliverArgs struct {
	DeliveryID string `json:"delivery_id"`
	WebhookID  string `json:"webhook_id,omitempty"`
}

// Kind names the job in River's tables.
func (deliverArgs) Kind() string { return "polyhook.deliver" }

const deliveriesQueue = "deliveries"

// recoverArgs is the job that re-sends a webhook's failed deliveries.
type recoverArgs struct {
	RecoveryID string `json:"recovery_id"`
}

// Kind names the job in River's tables.
func (recoverArgs) Kind() string { return "polyhook.recover" }

// pruneArgs is the periodic job that applies the retention period.
type pruneArgs struct{}

// Kind names the job in River's tables.
func (pruneArgs) Kind() string { return "polyhook.prune" }

type pruneWorker struct {
	river.WorkerDefaults[pruneArgs]
	engine *Engine
}

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[pruneArgs]) error {
	before := w.engine.clock.Now().Add(-w.engine.cfg.Retention)
	a, d, ev, err := w.engine.db.Prune(ctx, before)
	if err == nil && a+d+ev > 0 {
		w.engine.log.Info("pruned", "attempts", a, "deliveries", d, "events", ev, "before", before)
	}
	return err
}

// sweepArgs is the periodic job that queues the deliveries of claims that ran out.
type sweepArgs struct{}

// Kind names the job in River's tables.
func (sweepArgs) Kind() string { return "polyhook.sweep" }

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	engine *Engine
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	return w.engine.sweep(ctx, w.engine.clock.Now())
}

type recoverWorker struct {
	river.WorkerDefaults[recoverArgs]
	engine *Engine
}

func (w *recoverWorker) Work(ctx context.Context, job *river.Job[recoverArgs]) error {
	return w.engine.recover(ctx, job.Args.RecoveryID)
}

// deliverWorker completes the jobs older versions left (see deliverArgs).
type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
}

func (w *deliverWorker) Work(context.Context, *river.Job[deliverArgs]) error { return nil }

type riverQueue[TTx any] struct {
	client *river.Client[TTx]
	tx     func(store.RawTx) TTx
}

func newQueue(db *store.DB, e *Engine) (queue, error) {
	ctx := context.Background()
	workers := river.NewWorkers()
	river.AddWorker(workers, &deliverWorker{})
	river.AddWorker(workers, &recoverWorker{engine: e})
	river.AddWorker(workers, &pruneWorker{engine: e})
	river.AddWorker(workers, &sweepWorker{engine: e})
	cfg := &river.Config{
		Queues: map[string]river.QueueConfig{
			deliveriesQueue:    {MaxWorkers: 1},
			river.QueueDefault: {MaxWorkers: 2},
		},
		Workers: workers,
		// Periodic jobs are inserted by whichever replica is River's leader: they run once
		// in all. Retention hourly; the sweep twice per claim's lifetime.
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return pruneArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(max(e.cfg.RescueAfter/2, time.Second)),
				func() (river.JobArgs, *river.InsertOpts) { return sweepArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
		FetchPollInterval:    e.cfg.PollInterval,
		FetchCooldown:        time.Millisecond,
		RescueStuckJobsAfter: e.cfg.RescueAfter,
		MaxAttempts:          25,
		JobTimeout:           min(maxAttemptTime+30*time.Second, e.cfg.RescueAfter),
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

func (q *riverQueue[TTx]) enqueueRecovery(ctx context.Context, raw store.RawTx, id string) error {
	_, err := q.client.InsertTx(ctx, q.tx(raw), recoverArgs{RecoveryID: id}, nil)
	return err
}

func (q *riverQueue[TTx]) start(ctx context.Context) error { return q.client.Start(ctx) }

func (q *riverQueue[TTx]) stop(ctx context.Context) error { return q.client.Stop(ctx) }
