package delivery

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/polyhook/polyhook/delivery/driver"
)

// The queue is the engine's periodic maintenance and background work: River, on the
// driver's database (driver.Queue), whose leader inserts the periodic jobs once for all
// replicas. It runs the retention (prune), the sweep of claims that ran out, and
// operators' recoveries. It never holds a delivery: every delivery waits as a row, due at
// its next_attempt_at, for the scheduler (scheduler.go).

// deliverArgs is the job older versions queued to send one delivery. Its deliveries are
// made due (driver.Executor.ScheduleUnscheduled) when the engine starts; what is left of these
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
	// deleted is set once a run of the prune deleted rows, and cleared once a run that
	// finished the prune has reclaimed their space: a prune cut by its turn deletes the
	// rest in the runs after, and the last run may delete nothing itself.
	deleted atomic.Bool
}

// pruneTurn bounds one run of the prune job: well within the job's timeout and the
// rescue of stuck jobs, so that neither stops or repeats a long prune. A prune not done
// by then (its batches done stay done) goes on in a run of its own right after.
const pruneTurn = 30 * time.Second

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[pruneArgs]) error {
	before := w.engine.clock.Now().Add(-w.engine.cfg.Retention)
	if err := w.engine.db.PruneActivity(ctx, w.engine.clock.Now()); err != nil {
		return err
	}
	turn, cancel := context.WithTimeout(ctx, pruneTurn)
	defer cancel()
	a, d, ev, err := w.engine.db.Prune(turn, before)
	if a+d+ev > 0 {
		w.deleted.Store(true)
		w.engine.log.Info("pruned", "attempts", a, "deliveries", d, "events", ev, "before", before, "done", err == nil)
	}
	// Once the prune is done, the space it freed is made reusable, within the job's own
	// time rather than the turn's. A replica that did not see the deletions (another ran
	// them, or this one restarted) leaves it to the database's own vacuum.
	if err == nil && w.deleted.Load() {
		t0 := time.Now()
		if err = w.engine.db.Reclaim(ctx); err != nil {
			return err
		}
		w.deleted.Store(false)
		w.engine.log.Info("reclaimed the space pruned", "took", time.Since(t0))
	}
	if err != nil && turn.Err() != nil && ctx.Err() == nil {
		return river.JobSnooze(time.Millisecond)
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
	return w.engine.scheduler.sweep(ctx, w.engine.clock.Now())
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

// newQueue builds River on the driver's database with the engine's workers and periodic
// jobs.
func newQueue(db driver.Driver, e *Engine) (driver.Queue, error) {
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
		FetchPollInterval:    e.cfg.PollInterval, // 0: the driver's default
		FetchCooldown:        time.Millisecond,
		RescueStuckJobsAfter: e.cfg.RescueAfter,
		MaxAttempts:          25,
		JobTimeout:           min(maxAttemptTime+30*time.Second, e.cfg.RescueAfter),
		Logger:               e.log.With("component", "river"),
		// Completed jobs are not the record of a delivery (the deliveries table is), so
		// they need not be kept long.
		CompletedJobRetentionPeriod: 10 * time.Minute,
	}
	return db.Queue(context.Background(), cfg)
}

// queueService gives River's client the engine's service life.
type queueService struct{ q driver.Queue }

func (s queueService) start(ctx context.Context) error { return s.q.Start(ctx) }
func (s queueService) stop(ctx context.Context) error  { return s.q.Stop(ctx) }
