// Package driver is the seam between the delivery engine and its database, in River's
// shape (riverdriver): Driver is every operation of the delivery lifecycle the engine
// asks of the database, and its implementations, one package per database
// (driver/sqlitedriver, driver/pgdriver), hold what differs between them: transactions,
// River's own driver, whether several processes share the database. No driver type
// crosses it, and drivertest runs the same contract on each.
package driver

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/polyhook/polyhook/store"
)

// Driver is the engine's database.
type Driver interface {
	Executor
	// InTx runs fn in one transaction, committed when fn returns nil and rolled back
	// otherwise. A Queue inserts in it (Queue.InsertTx).
	InTx(ctx context.Context, fn func(tx Executor) error) error
	// Shared reports whether several processes may use the database at once: they then
	// beat heartbeats and release each other's claims when one stops. When false, one
	// process owns it, and whatever an earlier process claimed is released at start.
	Shared() bool
	// OneConnection reports whether every statement waits for the database's one
	// connection (SQLite): results then ride in the next publish's transaction rather
	// than take a turn of their own.
	OneConnection() bool
	// WebhookWrites counts the writes to webhooks made through this process; local
	// reports whether that is every write there is (one process owns the database), so
	// that an unchanged count means unchanged webhooks.
	WebhookWrites() (n uint64, local bool)
	// Queue builds River on this database, with the defaults the database needs (how
	// often to poll, where it cannot be woken), migrating River's tables first.
	Queue(ctx context.Context, cfg *river.Config) (Queue, error)
}

// Queue is River on the driver's database: the engine's periodic maintenance and its
// background jobs.
type Queue interface {
	// InsertTx inserts a job in a transaction of the driver (InTx).
	InsertTx(ctx context.Context, tx Executor, args river.JobArgs) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Executor runs the lifecycle's operations, in a transaction (InTx) or not.
type Executor interface {
	// Publishing.

	// CreateEvents inserts events and their deliveries, each claimed by its publisher
	// (ClaimedUntil, ClaimedBy) or due (NextAttemptAt).
	CreateEvents(ctx context.Context, evs []*store.Event, ds []store.Delivery) error
	// MatchCandidates returns the enabled webhooks of dialects an event of tenant may
	// reach; the dialects' own rules then decide.
	MatchCandidates(ctx context.Context, dialects []string, tenant string) ([]store.Webhook, error)
	// MatchSubscribers is MatchCandidates narrowed to the webhooks whose events hold one
	// of names (a superset of those that subscribe).
	MatchSubscribers(ctx context.Context, dialects []string, tenant string, names []string) ([]store.Webhook, error)
	GetEvent(ctx context.Context, id string) (*store.Event, error)
	EventsByID(ctx context.Context, ids []string) (map[string]*store.Event, error)

	// Claims and results.

	// DueDeliveries returns up to limit pending, unclaimed, unheld deliveries due at now,
	// but for those to exceptWebhooks, oldest due first.
	DueDeliveries(ctx context.Context, now time.Time, limit int, exceptWebhooks []string) ([]store.Delivery, error)
	// ClaimDue claims for owner until a time those of ds still due, unclaimed and as
	// they were read (not attempted or rescheduled since), and moves the next attempt of
	// those in postpone (as read, each due again at its NextAttemptAt) that were not
	// attempted since; each delivery is claimed once.
	ClaimDue(ctx context.Context, ds []store.Delivery, postpone []store.Delivery, owner string, until time.Time) ([]store.Delivery, error)
	// Settle records what became of claimed deliveries (their new state, the attempt
	// made) while their holder still holds them, and ends their claims.
	Settle(ctx context.Context, ds []*store.Delivery, as []*store.Attempt) (held []bool, err error)
	// SettleAndClaim is Settle, and claims for owner until a time those of next that
	// head their lane once ds are recorded (successors of the heads ds finish).
	SettleAndClaim(ctx context.Context, ds []*store.Delivery, as []*store.Attempt, next []store.Delivery, owner string, until time.Time) (held []bool, claimed []store.Delivery, err error)
	// SettleClaimAndMarkHealthy is SettleAndClaim and MarkHealthy of the marks' webhooks
	// in one write, a transaction of its own outside one; it stores the notices of the
	// runs it ends.
	SettleClaimAndMarkHealthy(ctx context.Context, ds []*store.Delivery, as []*store.Attempt, next []store.Delivery, owner string,
		until time.Time, marks []store.HealthMark) (held []bool, claimed []store.Delivery, ended []string, err error)
	// RenewClaims extends the live claims owner holds on ids to until.
	RenewClaims(ctx context.Context, owner string, ids []string, until time.Time) (map[string]bool, error)
	// ReleaseExpired ends the claims that ran out before a time, due at at.
	ReleaseExpired(ctx context.Context, before, at time.Time) (int64, error)
	// ReleaseClaimsOf ends every claim of a replica, due at at.
	ReleaseClaimsOf(ctx context.Context, replica string, at time.Time) (int64, error)
	// ReleaseHeld ends the holds of deliveries whose webhook delivers again (enabled,
	// not disabled, not paused), due at at.
	ReleaseHeld(ctx context.Context, at time.Time) (int64, error)
	// ScheduleUnscheduled makes due at at the pending deliveries that wait for nothing
	// (those that wait for their lane excepted).
	ScheduleUnscheduled(ctx context.Context, at time.Time) (int64, error)

	// Ordered lanes (Delivery.Lane): CreateEvents claims or makes due a delivery of a lane
	// only when it heads its lane, DueDeliveries and ClaimDue take only heads, ReleaseHeld
	// makes due only heads, Settle makes due a lane's next delivery when its head
	// finishes for good, and Requeue puts a delivery back at the end of its lane.

	// PromoteLaneHeads makes due, since they were published, the heads of lanes that
	// wait for their lane: promotions a concurrent publish hid from the recording.
	PromoteLaneHeads(ctx context.Context) (int64, error)

	// Replicas.

	Heartbeat(ctx context.Context, replica string, at time.Time) error
	SilentReplicas(ctx context.Context, self string, before time.Time) ([]string, error)
	ForgetReplica(ctx context.Context, replica string) error

	// Webhooks as attempts see them, and their health.

	WebhookStates(ctx context.Context, ids []string) (map[string]*store.WebhookState, error)
	WebhookByID(ctx context.Context, id string) (*store.Webhook, error)
	// SetFailingSince starts a webhook's run of failures at since unless one has started,
	// and reports whether it started one; MarkHealthy ends the runs of the webhooks given
	// and returns those it ended. Of replicas doing either at once, exactly one is told it
	// did: the operator events (polyhook.webhook.failing, .recovered) are published once.
	SetFailingSince(ctx context.Context, webhookID string, since time.Time) (bool, error)
	MarkHealthy(ctx context.Context, webhookIDs []string) ([]string, error)

	// Operator events decided and not yet published (store.Notice).

	// AddNotices stores notices, with the transaction it runs in.
	AddNotices(ctx context.Context, ns []store.Notice) error
	// Notices returns up to limit notices stored before a time, oldest first.
	Notices(ctx context.Context, before time.Time, limit int) ([]store.Notice, error)
	// DeleteNotices deletes published notices.
	DeleteNotices(ctx context.Context, ids []string) error
	DisableWebhook(ctx context.Context, id, reason string) error
	// DisableOnce disables a webhook not disabled yet, with the reason, and reports
	// whether it did (once of all replicas): the gateway's own disabling.
	DisableOnce(ctx context.Context, id, reason string) (bool, error)
	// PauseWebhook pauses a webhook from at (its deliveries are made and held) and
	// ResumeWebhook ends the pause (ReleaseHeld then makes them due); both return
	// ENOTFOUND for an unknown webhook.
	PauseWebhook(ctx context.Context, id string, at time.Time) error
	ResumeWebhook(ctx context.Context, id string) error

	// ReserveSend reserves the earliest start, at least interval after the one reserved
	// before, of an attempt to a rate-limited webhook, if within horizon of now (ok);
	// otherwise it says when one next is. Replicas never reserve the same start.
	ReserveSend(ctx context.Context, webhookID string, now time.Time, interval, horizon time.Duration) (at time.Time, ok bool, err error)

	// Breakers, shared by every replica: a row per open breaker (store.WebhookBreaker).

	// OpenBreaker opens a webhook's breaker at at for pause unless it is open already;
	// opened says whether this call opened it, b is the breaker as it is now.
	OpenBreaker(ctx context.Context, webhookID string, at time.Time, pause time.Duration) (b *store.WebhookBreaker, opened bool, err error)
	// ProbeBreaker gives the probe of a breaker whose pause is over to a delivery for up
	// to limit, unless another delivery's is out; of replicas asking at once, one wins.
	// It returns the breaker when the delivery has the probe, nil otherwise.
	ProbeBreaker(ctx context.Context, webhookID, deliveryID string, now time.Time, limit time.Duration) (*store.WebhookBreaker, error)
	// ReopenBreaker opens the breaker again until a time, with the pause given, when the
	// probe out is prober's.
	ReopenBreaker(ctx context.Context, webhookID, prober string, until time.Time, pause time.Duration) (bool, error)
	// CloseBreaker deletes a webhook's breaker, reporting whether it was open, and makes
	// due at at the deliveries held while it was (unless the webhook holds them for
	// another reason).
	CloseBreaker(ctx context.Context, webhookID string, at time.Time) (bool, error)
	// OpenBreakers returns every open breaker (bounded); BreakersOf those of some webhooks.
	OpenBreakers(ctx context.Context) ([]store.WebhookBreaker, error)
	BreakersOf(ctx context.Context, ids []string) (map[string]*store.WebhookBreaker, error)

	// Operators' retries and recoveries.

	Requeue(ctx context.Context, id string, at time.Time) (*store.Delivery, error)
	AttemptAt(ctx context.Context, ids []string, at time.Time) error
	FailedDeliveries(ctx context.Context, webhookID string, since time.Time, limit int) ([]store.Delivery, error)
	WaitingDeliveries(ctx context.Context, webhookID string, since, until time.Time, limit int) ([]string, error)
	CreateRecovery(ctx context.Context, r *store.Recovery) error
	GetRecovery(ctx context.Context, id string) (*store.Recovery, error)
	AdvanceRecovery(ctx context.Context, id string, n int64, finished bool) error

	// Maintenance and metrics.

	// Prune deletes what ended before a time: attempts, finished deliveries, events left
	// without deliveries, and the paces and breakers of deleted webhooks or that ended.
	Prune(ctx context.Context, before time.Time) (attempts, deliveries, events int64, err error)
	// PruneActivity forgets the per-minute counts older than the longest window the
	// dashboard shows.
	PruneActivity(ctx context.Context, now time.Time) error
	// Reclaim makes the space of the rows Prune deleted reusable (see store.DB.Reclaim).
	Reclaim(ctx context.Context) error
	Backlog(ctx context.Context) (int64, time.Time, error)
	DisabledWebhooks(ctx context.Context) (int64, error)
}

// MigrateRiver brings River's tables up to date with a River driver.
func MigrateRiver[TTx any](ctx context.Context, d riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(d, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate the job queue: %w", err)
	}
	return nil
}
