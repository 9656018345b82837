package delivery

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/store"
)

// Operator events: the gateway's events about itself, in the catalogue beside the others
// and subscribed to like them. The recorder decides them in the transaction that records
// what caused them (a webhook's first failure after a success, its first success after
// failing, its disabling by the gateway, a delivery given up) from the database's answer,
// so that of several replicas exactly one decides each, and stores each in it as a
// notice (store/notice.go); they are published once that transaction has committed
// (notifier), or, should their process stop first, by the next (noticeSweeper), never
// to the webhook they are about.
//
// They cannot feed on themselves without end: a webhook's failing, recovered and disabled
// events are one per change of its state, and a delivery of an operator event that is
// given up begets no polyhook.delivery.exhausted (the subscriber's failing and disabled
// events say it), so that failing subscribers of each other's events do not trade them
// for ever.

// The operator events' canonical names.
const (
	EventWebhookFailing    = "polyhook.webhook.failing"
	EventWebhookRecovered  = "polyhook.webhook.recovered"
	EventWebhookDisabled   = "polyhook.webhook.disabled"
	EventDeliveryExhausted = "polyhook.delivery.exhausted"
)

// IsOperatorEvent reports whether name is one of the gateway's own events, which only
// the gateway publishes.
func IsOperatorEvent(name string) bool { return strings.HasPrefix(name, "polyhook.") }

// opData is an operator event's data (see the schemas in schemas.go).
type opData struct {
	Webhook      opWebhook   `json:"webhook"`
	FailingSince *time.Time  `json:"failingSince,omitempty"`
	Reason       string      `json:"reason,omitempty"`
	LastStatus   *int        `json:"lastStatus,omitempty"`
	LastError    string      `json:"lastError,omitempty"`
	Delivery     *opDelivery `json:"delivery,omitempty"`
}

type opWebhook struct {
	ID      string `json:"id"`
	Dialect string `json:"dialect"`
	Tenant  string `json:"tenant"`
}

type opDelivery struct {
	ID         string `json:"id"`
	EventID    string `json:"eventId"`
	EventType  string `json:"eventType"`
	EventName  string `json:"eventName"`
	Attempts   int    `json:"attempts"`
	LastStatus int    `json:"lastStatus"`
	LastError  string `json:"lastError,omitempty"`
}

// maxNoticeError bounds the error text an operator event carries.
const maxNoticeError = 1024

// newNotice is the operator event typ about w, at at, with data: a store.Notice, under
// the id its event will have.
func newNotice(typ string, at time.Time, w *store.Webhook, data opData) store.Notice {
	data.Webhook = opWebhook{ID: w.ID, Dialect: w.Dialect, Tenant: w.Owner}
	b, err := json.Marshal(data)
	if err != nil { // strings, numbers and times: it cannot fail
		b = []byte("{}")
	}
	return store.Notice{ID: NewID("evt_"), Type: typ, Tenant: w.Owner, Subject: w.ID, Data: string(b), OccurredAt: at.UTC()}
}

// failingNotice: w's first failed attempt, a, since its last success.
func failingNotice(w *store.Webhook, a *store.Attempt, status int, lastError string) store.Notice {
	since := a.StartedAt.UTC()
	return newNotice(EventWebhookFailing, a.StartedAt, w, opData{FailingSince: &since, LastStatus: &status, LastError: truncate(lastError, maxNoticeError)})
}

// recoveredNotice: w's first success, a, after failing (since, when known).
func recoveredNotice(w *store.Webhook, a *store.Attempt, since *time.Time) store.Notice {
	return newNotice(EventWebhookRecovered, a.StartedAt, w, opData{FailingSince: utc(since)})
}

// disabledNotice: the gateway disabled w at at, for reason.
func disabledNotice(w *store.Webhook, at time.Time, reason string, since *time.Time) store.Notice {
	return newNotice(EventWebhookDisabled, at, w, opData{Reason: reason, FailingSince: utc(since)})
}

// exhaustedNotice: d, of event ev, was given up after its attempt a.
func exhaustedNotice(w *store.Webhook, d *store.Delivery, ev *store.Event, a *store.Attempt) store.Notice {
	return newNotice(EventDeliveryExhausted, a.StartedAt, w, opData{Delivery: &opDelivery{ID: d.ID, EventID: d.EventID, EventType: ev.Type,
		EventName: d.EventName, Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: truncate(d.LastError, maxNoticeError)}})
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// publishNotice publishes an operator event to every subscriber but its subject, under
// its notice's id: published before, it is not published again. One that nobody
// receives is not written, so that a storm of failures costs no events.
//
// The id is taken as new (Fresh): published before (its process stopped between the
// publish and the notice's deletion) it is found by the insert's conflict, rather than
// by a read before every publish.
func (e *Engine) publishNotice(ctx context.Context, n store.Notice) error {
	_, _, err := e.publish(ctx, PublishInput{ID: n.ID, Type: n.Type, Tenant: n.Tenant, Data: json.RawMessage(n.Data), OccurredAt: n.OccurredAt,
		Exclude: func(w *store.Webhook) bool { return w.ID == n.Subject }, unlessMatched: true, Fresh: true})
	return err
}

// notifier publishes the operator events the recorder decided, after their transaction
// committed, in a goroutine of its own so that recording never waits for a publish, and
// deletes each one's notice once it is published. It holds at most noticeQueue of
// them; past that (the database failing behind a storm of failures), and for one whose
// publish failed, the notice stays in the store, for the sweep (noticeSweeper).
type notifier struct {
	publish func(context.Context, store.Notice) error
	db      driver.Driver
	log     *slog.Logger

	mu      sync.RWMutex
	running bool
	in      chan store.Notice
	done    sync.WaitGroup
	// pending counts the notices put and not yet published (or given up on).
	pending atomic.Int64
}

// idle reports whether every notice put has been published.
func (n *notifier) idle() bool { return n.pending.Load() == 0 }

const (
	noticeQueue = 4096
	// noticeGroup is how many notices are published at once: their publishes share a
	// commit (publish.go).
	noticeGroup = 64
)

func newNotifier(publish func(context.Context, store.Notice) error, db driver.Driver, log *slog.Logger) *notifier {
	return &notifier{publish: publish, db: db, log: log}
}

func (n *notifier) start(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.running = true
	n.in = make(chan store.Notice, noticeQueue)
	n.done.Add(1)
	go func() {
		defer n.done.Done()
		for first := range n.in {
			group := []store.Notice{first}
		more:
			for len(group) < noticeGroup {
				select {
				case x, ok := <-n.in:
					if !ok {
						break more
					}
					group = append(group, x)
				default:
					break more
				}
			}
			n.sendAll(group)
			n.pending.Add(-int64(len(group)))
		}
	}()
	return nil
}

// stop publishes what is waiting and returns once it is published.
func (n *notifier) stop(context.Context) error {
	n.mu.Lock()
	if !n.running {
		n.mu.Unlock()
		return nil
	}
	n.running = false
	close(n.in)
	n.mu.Unlock()
	n.done.Wait()
	return nil
}

// put hands notices over for publishing; once the notifier has stopped, put publishes
// them at once.
func (n *notifier) put(ns []store.Notice) {
	if len(ns) == 0 {
		return
	}
	n.mu.RLock()
	if !n.running {
		n.mu.RUnlock()
		n.sendAll(ns)
		return
	}
	defer n.mu.RUnlock()
	for _, x := range ns {
		n.pending.Add(1)
		select {
		case n.in <- x:
		default:
			n.pending.Add(-1)
			operatorEventsTotal.WithLabelValues(x.Type, "deferred").Inc()
			n.log.Warn("operator event left to the sweep: too many waiting to be published", "type", x.Type, "webhook", x.Subject)
		}
	}
}

// sendAll publishes notices at once, then deletes those published (or that never can be).
func (n *notifier) sendAll(ns []store.Notice) {
	sent := make([]bool, len(ns))
	var wg sync.WaitGroup
	for i, x := range ns {
		wg.Go(func() { sent[i] = n.send(x) })
	}
	wg.Wait()
	var ids []string
	for i, ok := range sent {
		if ok {
			ids = append(ids, ns[i].ID)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.db.DeleteNotices(ctx, ids); err != nil {
		// Published under their ids: the sweep publishes none of them again.
		n.log.Warn("deleting published operator events' notices", "notices", len(ids), "err", err)
	}
}

func (n *notifier) send(x store.Notice) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.publish(ctx, x); err != nil {
		operatorEventsTotal.WithLabelValues(x.Type, "failed").Inc()
		if store.ErrorCode(err) == store.EINVALID { // never publishable: not tried again
			n.log.Error("publishing an operator event", "type", x.Type, "webhook", x.Subject, "err", err)
			return true
		}
		n.log.Error("publishing an operator event; the sweep tries again", "type", x.Type, "webhook", x.Subject, "err", err)
		return false
	}
	operatorEventsTotal.WithLabelValues(x.Type, "published").Inc()
	return true
}

// noticeSweeper publishes the notices left in the store: at start every one (those of
// a process that stopped before publishing them), then every noticeSweep those stored
// at least as long ago (another replica's that stopped, or this process's own that its
// notifier could not publish). A notice published meanwhile by its own process is
// not published twice: its id is the event's idempotency key.
type noticeSweeper struct {
	n     *notifier
	db    driver.Driver
	clock Clock
	log   *slog.Logger

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// noticeSweep is how often the sweep looks for notices left unpublished.
const noticeSweep = time.Minute

func (s *noticeSweeper) start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	// Counted as pending from now, so that the notices found at start are waited for
	// like the recorder's.
	s.n.pending.Add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick, stop := s.clock.Tick(noticeSweep)
		defer stop()
		before := s.clock.Now().Add(time.Hour) // at start: all of them
		for {
			s.sweep(ctx, before)
			s.n.pending.Add(-1)
			select {
			case <-ctx.Done():
				return
			case <-tick:
			}
			s.n.pending.Add(1)
			before = s.clock.Now().Add(-noticeSweep)
		}
	}()
	return nil
}

func (s *noticeSweeper) stop(context.Context) error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return nil
}

// sweep publishes the notices stored before a time, a batch at a time.
func (s *noticeSweeper) sweep(ctx context.Context, before time.Time) {
	after := ""
	for ctx.Err() == nil {
		ns, err := s.db.Notices(ctx, before, noticeGroup)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("reading operator events left unpublished", "err", err)
			}
			return
		}
		// A batch that published none (every publish failed) ends the sweep: the next
		// one tries again.
		if len(ns) == 0 || ns[len(ns)-1].ID == after {
			return
		}
		after = ns[len(ns)-1].ID
		s.n.sendAll(ns)
		if len(ns) < noticeGroup {
			return
		}
	}
}
