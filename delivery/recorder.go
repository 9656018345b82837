package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/store"
)

// The recorder. Whatever becomes of a claim (an attempt made, the delivery cancelled or
// held, or the claim handed back untried, due again) is one settlement, and every
// settlement is written by the recorder (writeIn): the attempts, the deliveries' new states with
// their claims ended and the time of their next attempt when one is due, and the
// endpoints' health, a batch of them per transaction.

// settlement is what became of a claim, waiting to be recorded.
type settlement struct {
	c *claim
	// a is the attempt made, nil when none was: the claim is handed back untried
	// (its endpoint was busy, or the process is stopping), or its delivery was cancelled
	// or held (c.d says which).
	a       *store.Attempt
	res     Result
	ok      bool
	disable string
	// notes are the operator events its recording brought about, published once that
	// commits (opevents.go).
	notes []store.Notice
	// next is the successor in its lane claimed with it (recorder.successor), if any.
	next *claim
}

// settleBatch is how many settlements one transaction records at most.
const settleBatch = 256

// recorder writes settlements as they come, as many per transaction as are waiting: the
// one writer of attempts' outcomes. Where the database has one connection
// (driver.Driver.OneConnection) a publish's transaction takes the waiting settlements
// along (take, writeIn), so that one commit does the work of two.
type recorder struct {
	db           driver.Driver
	clock        Clock
	log          *slog.Logger
	disableAfter time.Duration
	// notify publishes operator events after their transaction committed (notifier.put).
	notify func([]store.Notice)

	in   chan *settlement
	done sync.WaitGroup
	// laneMoved is called once settlements are recorded of which one finished a lane's
	// head for good with no successor claimed: its next delivery is due (scheduler.wake).
	laneMoved func()
	// successor returns the delivery kept to claim next in a lane whose head finished
	// (Engine.laneNext), claimed as replica for rescueAfter in the same transaction, and
	// dispatch hands those claimed to the workers.
	successor   func(d *store.Delivery) *claim
	dispatch    func([]*claim)
	replica     string
	rescueAfter time.Duration
	// unwritten counts the settlements put and not yet written (or given up on): what
	// idle reports.
	unwritten atomic.Int64

	// Others take batches too (take); stop waits for what they took to be written.
	mu      sync.RWMutex
	running bool
	taken   sync.WaitGroup
}

func newRecorder(db driver.Driver, clock Clock, log *slog.Logger, disableAfter time.Duration) *recorder {
	return &recorder{db: db, clock: clock, log: log, disableAfter: disableAfter, in: make(chan *settlement, settleBatch)}
}

func (r *recorder) start(context.Context) error {
	r.mu.Lock()
	r.running = true
	r.mu.Unlock()
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		for s := range r.in {
			batch := []*settlement{s}
		more:
			for len(batch) < settleBatch {
				select {
				case s, ok := <-r.in:
					if !ok {
						break more
					}
					batch = append(batch, s)
				default:
					break more
				}
			}
			r.write(batch)
			r.unwritten.Add(-int64(len(batch)))
		}
	}()
	return nil
}

// put hands a settlement to the recorder; once it has stopped, put writes it at once.
func (r *recorder) put(s *settlement) {
	r.mu.RLock()
	if !r.running {
		r.mu.RUnlock()
		r.write([]*settlement{s})
		return
	}
	r.unwritten.Add(1)
	r.in <- s
	r.mu.RUnlock()
}

// idle reports whether every settlement put has been written.
func (r *recorder) idle() bool { return r.unwritten.Load() == 0 }

// take returns the settlements waiting, up to a batch, for the caller to write in its
// transaction (writeIn, then settled); it must call done once they are written (or given
// to write).
func (r *recorder) take() (batch []*settlement, done func()) {
	if !r.db.OneConnection() {
		return nil, func() {}
	}
	r.mu.RLock()
	if !r.running {
		r.mu.RUnlock()
		return nil, func() {}
	}
	r.taken.Add(1)
	r.mu.RUnlock()
	for len(batch) < settleBatch {
		select {
		case s := <-r.in:
			batch = append(batch, s)
			continue
		default:
		}
		break
	}
	return batch, func() {
		r.unwritten.Add(-int64(len(batch)))
		r.taken.Done()
	}
}

// stop records what is left and returns once it is written.
func (r *recorder) stop(context.Context) error {
	r.mu.Lock()
	if !r.running {
		r.mu.Unlock()
		return nil
	}
	r.running = false
	close(r.in)
	r.mu.Unlock()
	r.done.Wait()
	r.taken.Wait()
	return nil
}

// write records a batch, trying again a few times when the database fails. Should it
// keep failing, the claims are released by the sweep and sent again: their attempts are
// made twice, not lost.
func (r *recorder) write(batch []*settlement) {
	var err error
	restore := keep(batch)
	for try, wait := 0, 50*time.Millisecond; try < 5; try, wait = try+1, wait*2 {
		if try > 0 {
			restore()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = r.writeBatch(ctx, batch)
		cancel()
		if err == nil {
			return
		}
		sleep(r.clock, wait)
	}
	r.log.Error("recording delivery attempts; the sweep will send them again", "deliveries", len(batch), "err", err)
}

// keep returns what puts batch's claims back as they are now. Recording ends each claim
// in memory too; a try that failed did not end it in the database, so the next one must
// start from the claims as they were.
func keep(batch []*settlement) (restore func()) {
	claims := make([]store.Delivery, len(batch))
	for i, s := range batch {
		claims[i] = s.c.d
	}
	return func() {
		for i, s := range batch {
			s.c.d = claims[i]
		}
	}
}

// writeBatch records settlements in one transaction of their own.
func (r *recorder) writeBatch(ctx context.Context, batch []*settlement) error {
	if !r.db.OneConnection() {
		if alone, err := r.writeAlone(ctx, batch); alone {
			if err != nil {
				return err
			}
			r.settled(batch)
			return nil
		}
	}
	err := r.db.InTx(ctx, func(tx driver.Executor) error {
		return r.writeIn(ctx, tx, batch)
	})
	if err != nil {
		return err
	}
	r.settled(batch)
	return nil
}

// rows returns the deliveries and attempts a batch records, the successors to claim with
// them (successors) and until when.
func (r *recorder) rows(batch []*settlement) (ds []*store.Delivery, as []*store.Attempt, next []store.Delivery, until time.Time) {
	ds = make([]*store.Delivery, len(batch))
	as = make([]*store.Attempt, len(batch))
	for i, s := range batch {
		ds[i], as[i] = &s.c.d, s.a
		s.notes = nil // from a try that did not commit
	}
	// A delivery due again (a retry, or a claim handed back untried) is left to the poll
	// for due deliveries (scheduler.go).
	// The successors kept for the lanes whose heads they finish are claimed with them.
	next = r.successors(batch)
	until = r.clock.Now().UTC().Truncate(time.Millisecond).Add(r.rescueAfter)
	return ds, as, next, until
}

// writeAlone records a batch in one write of its own (driver.SettleClaimAndMarkHealthy)
// when all it writes of the webhooks is the end of their runs of failures, which is so
// for a batch of successes: on PostgreSQL one round trip where a transaction took four
// (BEGIN, the batch, MarkHealthy, COMMIT). It reports false, having written nothing,
// for a batch that starts a run of failures, disables a webhook or gives a delivery up.
func (r *recorder) writeAlone(ctx context.Context, batch []*settlement) (bool, error) {
	for _, s := range batch {
		if s.a != nil && (s.disable != "" || givesUp(s)) {
			return false, nil
		}
	}
	h := r.plan(batch)
	for _, id := range h.ids {
		if h.runs[id].first != nil {
			return false, nil
		}
	}
	ds, as, next, until := r.rows(batch)
	// The notice of each run the write may end, stored if it does.
	marks := make([]store.HealthMark, len(h.healthy))
	for i, id := range h.healthy {
		run := h.runs[id]
		n := recoveredNotice(run.w, run.ok.a, run.w.FailingSince)
		marks[i] = store.HealthMark{WebhookID: id, Recovered: &n}
	}
	_, claimed, ended, err := r.db.SettleClaimAndMarkHealthy(ctx, ds, as, next, r.replica, until, marks)
	if err != nil {
		return true, err
	}
	r.claimedSuccessors(batch, claimed, until)
	// ended is in the marks' order.
	for _, m := range marks {
		if len(ended) > 0 && ended[0] == m.WebhookID {
			ended = ended[1:]
			run := h.runs[m.WebhookID]
			run.ok.notes = append(run.ok.notes, *m.Recovered)
		}
	}
	return true, nil
}

// writeIn writes settlements in the caller's transaction, and decides the operator
// events they bring about (opevents.go), kept on the settlements until it commits
// (settled).
func (r *recorder) writeIn(ctx context.Context, tx driver.Executor, batch []*settlement) error {
	ds, as, next, until := r.rows(batch)
	mine, claimed, err := tx.SettleAndClaim(ctx, ds, as, next, r.replica, until)
	if err != nil {
		return err
	}
	r.claimedSuccessors(batch, claimed, until)
	if err := r.health(ctx, tx, batch); err != nil {
		return err
	}
	for _, s := range batch {
		if s.disable != "" && s.a != nil {
			done, err := tx.DisableOnce(ctx, s.c.w.ID, s.disable)
			if err != nil {
				return err
			}
			if done {
				r.log.Warn("webhook disabled by the gateway", "webhook", s.c.w.ID, "dialect", s.c.w.Dialect, "why", s.disable)
				s.notes = append(s.notes, disabledNotice(s.c.w, s.a.StartedAt, s.disable, s.c.w.FailingSince))
			}
		}
	}
	r.exhausted(batch, mine)
	var notes []store.Notice
	for _, s := range batch {
		notes = append(notes, s.notes...)
	}
	return tx.AddNotices(ctx, notes)
}

// exhausted notes the deliveries given up, and recorded so by this claim (mine: not one
// that ran out meanwhile).
func (r *recorder) exhausted(batch []*settlement, mine []bool) {
	for i, s := range batch {
		if s.a != nil && mine[i] && givesUp(s) {
			s.notes = append(s.notes, exhaustedNotice(s.c.w, &s.c.d, s.c.ev, s.a))
		}
	}
}

// givesUp reports whether s's attempt gives its delivery up, which is an operator event
// (polyhook.delivery.exhausted) unless the delivery's own event is one: see opevents.go.
func givesUp(s *settlement) bool {
	return s.c.d.Status == store.DeliveryFailed && !IsOperatorEvent(s.c.ev.Type)
}

// endpointRun is what one batch's attempts say of an endpoint's health.
type endpointRun struct {
	w *store.Webhook
	// ok is its latest success, if any; failed are its failures after it, first and
	// last by the time they started.
	ok          *settlement
	first, last *settlement
}

// health follows each endpoint's run of failures, in the order its attempts started: a
// success ends the run (the first since failing publishes polyhook.webhook.recovered),
// the failures after an endpoint's last success start one (the first publishes
// polyhook.webhook.failing), and an endpoint failing for DisableAfter is disabled
// (polyhook.webhook.disabled). The database says which of these this batch is the first
// to do, on every replica: only that one publishes the event. Only a start or an end of
// a run is written.
func (r *recorder) health(ctx context.Context, tx driver.Executor, batch []*settlement) error {
	h := r.plan(batch)
	ended, err := tx.MarkHealthy(ctx, h.healthy)
	if err != nil {
		return err
	}
	r.recovered(h, ended)
	runs, ids := h.runs, h.ids
	for _, id := range ids {
		run := runs[id]
		if run.first == nil {
			continue
		}
		w, at := run.w, run.first.a.StartedAt
		started, err := tx.SetFailingSince(ctx, id, at)
		if err != nil {
			return err
		}
		since := w.FailingSince // as read before the attempts
		if started {
			run.first.notes = append(run.first.notes, failingNotice(w, run.first.a, run.first.res.Status, run.first.c.d.LastError))
		}
		if started || since == nil || run.ok != nil {
			since = &at
		}
		if run.last.a.StartedAt.Sub(*since) < r.disableAfter || w.DisabledAt != nil {
			continue
		}
		reason := fmt.Sprintf("Every attempt failed since %s.", since.UTC().Format(time.RFC3339))
		done, err := tx.DisableOnce(ctx, id, reason)
		if err != nil {
			return err
		}
		if done {
			r.log.Warn("webhook disabled by the gateway: every attempt failed for --disable-after", "webhook", id, "dialect", w.Dialect,
				"failing_since", *since, "last", run.last.c.d.LastError)
			run.last.notes = append(run.last.notes, disabledNotice(w, run.last.a.StartedAt, reason, since))
		}
	}
	return nil
}

// healthPlan is what a batch's attempts say of their endpoints (plan): each endpoint's
// run, the endpoints in a replica-independent order, and those whose run of failures a
// success may end (MarkHealthy).
type healthPlan struct {
	runs    map[string]*endpointRun
	ids     []string
	healthy []string
}

// plan reads a batch's attempts by endpoint, for health; it writes nothing.
func (r *recorder) plan(batch []*settlement) healthPlan {
	runs := map[string]*endpointRun{}
	var ids []string
	for _, s := range batch {
		if s.a == nil {
			continue
		}
		run := runs[s.c.w.ID]
		if run == nil {
			run = &endpointRun{w: s.c.w}
			runs[s.c.w.ID] = run
			ids = append(ids, s.c.w.ID)
		}
		if s.ok && (run.ok == nil || !s.a.StartedAt.Before(run.ok.a.StartedAt)) {
			run.ok = s
		}
	}
	slices.Sort(ids) // the same order on every replica
	var healthy []string
	for _, s := range batch {
		if s.a == nil || s.ok {
			continue
		}
		run := runs[s.c.w.ID]
		if run.ok != nil && !s.a.StartedAt.After(run.ok.a.StartedAt) {
			continue
		}
		if run.first == nil || s.a.StartedAt.Before(run.first.a.StartedAt) {
			run.first = s
		}
		if run.last == nil || !s.a.StartedAt.Before(run.last.a.StartedAt) {
			run.last = s
		}
	}
	// A success ends its webhook's failure run, if it has one: asked of the database,
	// since another replica may have started it, unless this store sees every write
	// (SQLite) and none was made since the attempt's copy of the webhook, which says it
	// is healthy, was read. The bulk of attempts, to healthy endpoints, then write
	// nothing for their health.
	writes, local := r.db.WebhookWrites()
	for _, id := range ids {
		ok := runs[id].ok
		if ok == nil || (local && ok.c.w.FailingSince == nil && ok.c.writes == writes) {
			continue
		}
		healthy = append(healthy, id)
	}
	return healthPlan{runs: runs, ids: ids, healthy: healthy}
}

// recovered notes the runs of failures this batch ended (MarkHealthy's).
func (r *recorder) recovered(h healthPlan, ended []string) {
	for _, id := range ended {
		run := h.runs[id]
		run.ok.notes = append(run.ok.notes, recoveredNotice(run.w, run.ok.a, run.w.FailingSince))
	}
}

// successors takes, for each settlement that finishes its lane's head for good, the
// successor kept in memory (lanes.go) to claim in the same transaction.
func (r *recorder) successors(batch []*settlement) []store.Delivery {
	var next []store.Delivery
	for _, s := range batch {
		s.next = nil
		d := &s.c.d
		if r.successor == nil || d.Lane == nil || d.Status == store.DeliveryPending || d.HeldAt != nil {
			continue
		}
		if s.next = r.successor(d); s.next != nil {
			next = append(next, s.next.d)
		}
	}
	return next
}

// claimedSuccessors keeps, of the successors taken, those claimed; one that no longer
// headed its lane was not, and its lane goes on through the database.
func (r *recorder) claimedSuccessors(batch []*settlement, claimed []store.Delivery, until time.Time) {
	got := make(map[string]store.Delivery, len(claimed))
	for _, d := range claimed {
		got[d.ID] = d
	}
	for _, s := range batch {
		if s.next == nil {
			continue
		}
		d, ok := got[s.next.d.ID]
		if !ok {
			s.next = nil
			continue
		}
		cl := *s.next
		cl.d, cl.until = d, until
		s.next = &cl
	}
}

// settled counts recorded settlements in the metrics, hands the successors claimed to
// the workers, tells the scheduler when a lane moved on without one, and publishes the
// operator events they brought about, now that they are committed.
func (r *recorder) settled(batch []*settlement) {
	moved := false
	var next []*claim
	for _, s := range batch {
		if s.next != nil {
			next = append(next, s.next)
			continue
		}
		moved = moved || s.c.d.Lane != nil && s.c.d.Status != store.DeliveryPending
	}
	if len(next) > 0 && r.dispatch != nil {
		// Not from the recorder's goroutine, which a claim handed back would wait for.
		go r.dispatch(next)
	}
	if moved && r.laneMoved != nil {
		r.laneMoved()
	}
	var notes []store.Notice
	for _, s := range batch {
		if s.a != nil {
			r.observe(&s.c.d, s.c.w, s.a, s.res, s.ok)
		} else if s.c.d.Status != store.DeliveryPending {
			deliveriesTotal.WithLabelValues(s.c.d.Dialect, s.c.d.Status).Inc()
		}
		notes = append(notes, s.notes...)
		s.notes = nil
	}
	if len(notes) > 0 && r.notify != nil {
		r.notify(notes)
	}
}

// observe counts a recorded attempt in the metrics and the debug log.
func (r *recorder) observe(d *store.Delivery, w *store.Webhook, a *store.Attempt, res Result, ok bool) {
	attemptsTotal.WithLabelValues(w.Dialect, outcome(res, ok)).Inc()
	attemptSeconds.WithLabelValues(w.Dialect).Observe(res.Duration.Seconds())
	if d.Status != store.DeliveryPending {
		deliveriesTotal.WithLabelValues(w.Dialect, d.Status).Inc()
	}
	r.log.Debug("delivery attempt", "delivery", d.ID, "webhook", w.ID, "dialect", w.Dialect,
		"attempt", a.Number, "status", res.Status, "error_kind", a.ErrorKind, "outcome", d.Status,
		"duration_ms", a.DurationMS)
}
