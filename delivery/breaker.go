package delivery

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/polyhook/polyhook/store"
)

// Breakers. An endpoint whose last breakerTrips attempts from one replica all failed is
// open: no replica makes an attempt to it for a pause, and new deliveries are stored held
// (store.CloseBreaker releases them), with no attempt. When the pause is over one attempt
// of all replicas goes first (the probe): if it succeeds the endpoint is closed and its
// backlog is due at once, sent as fast as the poll for due deliveries claims it; if it
// fails, the endpoint opens again for twice as long, up to breakerMaxPause. A failing endpoint thus costs one attempt per
// pause instead of one per delivery and retry, and a delivery does not spend its
// attempts while its endpoint is down.
//
// The open breakers are shared through the database (store.WebhookBreaker, one row per
// open breaker): the replica that trips one writes it, once, whoever is first; the probe
// is given by a conditional update that one replica wins; the prober reopens or closes
// it. Each replica keeps a view of the rows, which its own writes update at once and the
// scheduler reads again every poll where replicas share the database (on SQLite, which
// one process owns, the view is the rows, read once at start): a replica learns of a
// breaker another opened within a poll, 200 ms. The run of failures that trips one is
// counted per replica.

const (
	breakerTrips    = 5
	breakerPause    = time.Second
	breakerMaxPause = 30 * time.Second
)

// breakerStore is what the breakers keep in the database (driver.Executor has it).
type breakerStore interface {
	OpenBreaker(ctx context.Context, webhookID string, at time.Time, pause time.Duration) (*store.WebhookBreaker, bool, error)
	ProbeBreaker(ctx context.Context, webhookID, deliveryID string, now time.Time, limit time.Duration) (*store.WebhookBreaker, error)
	ReopenBreaker(ctx context.Context, webhookID, prober string, until time.Time, pause time.Duration) (bool, error)
	CloseBreaker(ctx context.Context, webhookID string, at time.Time) (bool, error)
	OpenBreakers(ctx context.Context) ([]store.WebhookBreaker, error)
	BreakersOf(ctx context.Context, ids []string) (map[string]*store.WebhookBreaker, error)
}

type breakers struct {
	clock Clock
	db    breakerStore
	log   *slog.Logger

	mu sync.Mutex
	// fails counts each endpoint's run of failed attempts made by this process.
	fails map[string]int
	// open is the view of the open breakers, by webhook.
	open map[string]*store.WebhookBreaker
	// cand is, per half-open endpoint, the delivery this process let through to ask for
	// the probe, and when.
	cand map[string]candidate
	// gen counts this process's changes of the view: a read of the rows that started
	// before one is not applied.
	gen uint64
}

type candidate struct {
	delivery string
	at       time.Time
}

// probeLimit is how long a probe may be out before another is given: a probe whose claim
// made no attempt (its webhook was disabled, say, or its replica died) must not keep the
// endpoint open.
const probeLimit = maxAttemptTime + breakerMaxPause

func newBreakers(clock Clock, db breakerStore, log *slog.Logger) *breakers {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &breakers{clock: clock, db: db, log: log, fails: map[string]int{}, open: map[string]*store.WebhookBreaker{},
		cand: map[string]candidate{}}
}

// refresh reads the open breakers again, unless this process changed one meanwhile (the
// next read then applies).
func (b *breakers) refresh(ctx context.Context) error {
	b.mu.Lock()
	gen := b.gen
	b.mu.Unlock()
	rows, err := b.db.OpenBreakers(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		return nil
	}
	b.open = make(map[string]*store.WebhookBreaker, len(rows))
	for i := range rows {
		b.open[rows[i].WebhookID] = &rows[i]
	}
	for id := range b.cand {
		if b.open[id] == nil {
			delete(b.cand, id)
		}
	}
	return nil
}

// set puts a breaker read or written into the view, nil for closed.
func (b *breakers) set(webhookID string, k *store.WebhookBreaker) {
	b.gen++
	if k == nil {
		delete(b.open, webhookID)
		delete(b.cand, webhookID)
		return
	}
	b.open[webhookID] = k
}

// wait returns how long an attempt of deliveryID to webhookID must wait, 0 when it may
// go now. Once the pause is over, the first delivery of this process to ask is let
// through to ask for the probe; with acquire (the attempt is about to be made) it asks
// the database, and goes only if it won it.
func (b *breakers) wait(ctx context.Context, webhookID, deliveryID string, acquire bool) time.Duration {
	now := b.clock.Now()
	b.mu.Lock()
	k := b.open[webhookID]
	switch {
	case k == nil:
		b.mu.Unlock()
		return 0
	case now.Before(k.Until()):
		b.mu.Unlock()
		return k.Until().Sub(now)
	case k.ProbeOut(now) && k.Prober == deliveryID:
		b.mu.Unlock()
		return 0
	case k.ProbeOut(now):
		b.mu.Unlock()
		return k.Pause()
	}
	if c, ok := b.cand[webhookID]; ok && c.delivery != deliveryID && now.Sub(c.at) < probeLimit {
		b.mu.Unlock()
		return k.Pause()
	}
	b.cand[webhookID] = candidate{deliveryID, now}
	pause := k.Pause()
	b.mu.Unlock()
	if !acquire {
		return 0
	}
	won, err := b.db.ProbeBreaker(ctx, webhookID, deliveryID, now, probeLimit)
	if err == nil && won == nil {
		// Another's probe, or closed meanwhile: as the database has it now.
		var got map[string]*store.WebhookBreaker
		if got, err = b.db.BreakersOf(ctx, []string{webhookID}); err == nil {
			b.mu.Lock()
			delete(b.cand, webhookID)
			b.set(webhookID, got[webhookID])
			b.mu.Unlock()
			if got[webhookID] == nil {
				return 0
			}
			return pause
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.cand, webhookID)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Error("asking for a breaker's probe", "webhook", webhookID, "err", err)
		}
		return pause
	}
	b.set(webhookID, won)
	return 0
}

// paused reports whether webhookID's breaker is open (or half-open).
func (b *breakers) paused(webhookID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open[webhookID] != nil
}

// blocked returns the webhooks no attempt may go to now: paused, or waiting for their
// probe.
func (b *breakers) blocked() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	now := b.clock.Now()
	for id, k := range b.open {
		c, asked := b.cand[id]
		if now.Before(k.Until()) || k.ProbeOut(now) || asked && now.Sub(c.at) < probeLimit {
			ids = append(ids, id)
		}
	}
	return ids
}

// turn is what an attempt's outcome changed about its endpoint, for the log.
type turn int

const (
	unchanged  turn = iota
	nowFailing      // the first failure since a success (or since this process started)
	nowOpen         // the breaker opened
	reopened        // its probe failed: open again, for longer
	nowHealthy      // a success after failures
	nowClosed       // a success after failures that had opened the breaker
)

// record counts the outcome of an attempt of deliveryID and says what it changed,
// writing the breaker's changes to the database.
func (b *breakers) record(ctx context.Context, webhookID, deliveryID string, ok bool) turn {
	now := b.clock.Now()
	b.mu.Lock()
	k := b.open[webhookID]
	if ok {
		failed := b.fails[webhookID] > 0
		delete(b.fails, webhookID)
		if k == nil {
			b.mu.Unlock()
			if failed {
				return nowHealthy
			}
			return unchanged
		}
		b.set(webhookID, nil)
		b.mu.Unlock()
		if _, err := b.db.CloseBreaker(ctx, webhookID, now); err != nil && ctx.Err() == nil {
			b.log.Error("closing a breaker", "webhook", webhookID, "err", err)
		}
		return nowClosed
	}
	b.fails[webhookID]++
	fails := b.fails[webhookID]
	switch {
	case k != nil && k.Prober == deliveryID && k.ProbeUntilMicros != 0:
		pause := min(2*k.Pause(), breakerMaxPause)
		again := *k
		again.UntilMicros, again.PauseMS, again.ProbeUntilMicros, again.Prober = now.Add(pause).UnixMicro(), pause.Milliseconds(), 0, ""
		b.set(webhookID, &again)
		b.mu.Unlock()
		if _, err := b.db.ReopenBreaker(ctx, webhookID, deliveryID, now.Add(pause), pause); err != nil && ctx.Err() == nil {
			b.log.Error("reopening a breaker", "webhook", webhookID, "err", err)
		}
		return reopened
	case k == nil && fails >= breakerTrips:
		// Open here at once, whatever the database answers.
		b.set(webhookID, &store.WebhookBreaker{WebhookID: webhookID, OpenedAt: now, UntilMicros: now.Add(breakerPause).UnixMicro(),
			PauseMS: breakerPause.Milliseconds()})
		b.mu.Unlock()
		got, opened, err := b.db.OpenBreaker(ctx, webhookID, now, breakerPause)
		if err != nil {
			if ctx.Err() == nil {
				b.log.Error("opening a breaker", "webhook", webhookID, "err", err)
			}
			breakerOpenings.Inc()
			return nowOpen
		}
		if got != nil {
			b.mu.Lock()
			b.set(webhookID, got)
			b.mu.Unlock()
		}
		if !opened {
			return unchanged // another replica opened it first
		}
		breakerOpenings.Inc()
		return nowOpen
	case fails == 1:
		b.mu.Unlock()
		return nowFailing
	}
	b.mu.Unlock()
	return unchanged // closed and not yet tripped, or an attempt made before it opened
}

// forget drops a webhook's breaker (it was deleted).
func (b *breakers) forget(ctx context.Context, webhookID string) {
	b.mu.Lock()
	k := b.open[webhookID]
	delete(b.fails, webhookID)
	if k != nil {
		b.set(webhookID, nil)
	}
	b.mu.Unlock()
	if k != nil {
		if _, err := b.db.CloseBreaker(ctx, webhookID, b.clock.Now()); err != nil && ctx.Err() == nil {
			b.log.Error("forgetting a deleted webhook's breaker", "webhook", webhookID, "err", err)
		}
	}
}
