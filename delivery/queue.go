package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"database/sql"

	"github.com/polyhook/polyhook/store"
)

// queue is the durable job queue behind the engine: River, on the store's own database.
type queue interface {
	// enqueue inserts one job per delivery inside the caller's transaction, to run at the
	// delivery's NextAttemptAt, or now when it has none.
	enqueue(ctx context.Context, raw store.RawTx, ds []store.Delivery) error
	// enqueueRecovery inserts the job that carries out a recovery.
	enqueueRecovery(ctx context.Context, raw store.RawTx, recoveryID string) error
	// runNow makes the jobs of a webhook's deliveries that wait for a later attempt
	// available now.
	runNow(ctx context.Context, webhookID string, deliveryIDs []string) error
	start(ctx context.Context) error
	stop(ctx context.Context) error
}

// deliverArgs is the job that sends one delivery.
type deliverArgs struct {
	DeliveryID string `json:"delivery_id"`
	// WebhookID lets a job for a stuck endpoint wait again without reading anything.
	WebhookID string `json:"webhook_id,omitempty"`
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

// deliverWorker hands a queued delivery to the attempt pipeline: it claims the delivery
// and gives it to the workers, as a publish does, and is done. The engine counts attempts
// and schedules the next one itself (conclude), as a new job; River's own retries only
// cover errors of the gateway itself, such as a database outage.
type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	engine  *Engine
	timeout time.Duration
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	// A stuck endpoint's job waits again without reading the database.
	if wait := w.engine.slots.stuck(job.Args.WebhookID); wait > 0 {
		return river.JobSnooze(jitter(wait))
	}
	if wait, ok := w.engine.claimable(job.Args.WebhookID, job.Args.DeliveryID, 0); !ok {
		return river.JobSnooze(jitter(max(wait, time.Second)))
	}
	return w.engine.takeQueued(ctx, job.Args.DeliveryID)
}

// Timeout bounds one job: it only claims its delivery and hands it to the workers, but
// keeps the bound it had when it made the attempt itself, below the time after which a
// running job is taken for lost.
func (w *deliverWorker) Timeout(*river.Job[deliverArgs]) time.Duration { return w.timeout }

type riverQueue[TTx any] struct {
	client *river.Client[TTx]
	clock  Clock
	tx     func(store.RawTx) TTx
}

func newQueue(db *store.DB, e *Engine) (queue, error) {
	ctx := context.Background()
	jobTimeout := min(maxAttemptTime+30*time.Second, e.cfg.RescueAfter)
	workers := river.NewWorkers()
	river.AddWorker(workers, &deliverWorker{engine: e, timeout: jobTimeout})
	river.AddWorker(workers, &recoverWorker{engine: e})
	river.AddWorker(workers, &pruneWorker{engine: e})
	river.AddWorker(workers, &sweepWorker{engine: e})
	cfg := &river.Config{
		Queues: map[string]river.QueueConfig{
			deliveriesQueue:    {MaxWorkers: e.cfg.Workers},
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
		return &riverQueue[pgx.Tx]{client: client, clock: e.clock, tx: func(r store.RawTx) pgx.Tx { return r.PGX }}, nil
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
	return &riverQueue[*sql.Tx]{client: client, clock: e.clock, tx: func(r store.RawTx) *sql.Tx { return r.SQL }}, nil
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
		opts := &river.InsertOpts{Queue: deliveriesQueue}
		if d.NextAttemptAt != nil {
			// River runs jobs by the wall clock: the engine's own clock gives the wait.
			if wait := d.NextAttemptAt.Sub(q.clock.Now()); wait > 0 {
				opts.ScheduledAt = time.Now().Add(wait)
			}
		}
		params[i] = river.InsertManyParams{Args: deliverArgs{DeliveryID: d.ID, WebhookID: d.WebhookID}, InsertOpts: opts}
	}
	_, err := q.client.InsertManyTx(ctx, q.tx(raw), params)
	return err
}

func (q *riverQueue[TTx]) enqueueRecovery(ctx context.Context, raw store.RawTx, id string) error {
	_, err := q.client.InsertTx(ctx, q.tx(raw), recoverArgs{RecoveryID: id}, nil)
	return err
}

func (q *riverQueue[TTx]) runNow(ctx context.Context, webhookID string, deliveryIDs []string) error {
	if len(deliveryIDs) == 0 {
		return nil
	}
	want := make(map[string]bool, len(deliveryIDs))
	for _, id := range deliveryIDs {
		want[id] = true
	}
	// args ->> 'key' reads a JSON field on PostgreSQL and SQLite alike.
	params := river.NewJobListParams().Kinds(deliverArgs{}.Kind()).
		States(rivertype.JobStateScheduled, rivertype.JobStateRetryable).
		Where("args ->> 'webhook_id' = @webhook_id", river.NamedArgs{"webhook_id": webhookID}).First(1000)
	for {
		res, err := q.client.JobList(ctx, params)
		if err != nil {
			return err
		}
		for _, j := range res.Jobs {
			var a deliverArgs
			if json.Unmarshal(j.EncodedArgs, &a) == nil && want[a.DeliveryID] {
				if _, err := q.client.JobRetry(ctx, j.ID); err != nil {
					return err
				}
			}
		}
		if len(res.Jobs) < 1000 || res.LastCursor == nil {
			return nil
		}
		params = params.After(res.LastCursor)
	}
}

func (q *riverQueue[TTx]) start(ctx context.Context) error { return q.client.Start(ctx) }

func (q *riverQueue[TTx]) stop(ctx context.Context) error { return q.client.Stop(ctx) }
