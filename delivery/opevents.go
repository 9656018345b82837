package delivery

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyhook/polyhook/store"
)

// Operator events: the gateway's events about itself, in the catalogue beside the others
// and subscribed to like them. The recorder decides them in the transaction that records
// what caused them (a webhook's first failure after a success, its first success after
// failing, its disabling by the gateway, a delivery given up) from the database's answer,
// so that of several replicas exactly one decides each; they are published once that
// transaction has committed (notifier), never to the webhook they are about.
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

// notice is an operator event decided by the recorder, published once its transaction
// has committed.
type notice struct {
	typ string
	at  time.Time
	// subject is the webhook the event is about: it never receives it.
	subject *store.Webhook
	data    opData
}

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

func newNotice(typ string, at time.Time, w *store.Webhook) notice {
	return notice{typ: typ, at: at, subject: w, data: opData{Webhook: opWebhook{ID: w.ID, Dialect: w.Dialect, Tenant: w.Owner}}}
}

// failingNotice: w's first failed attempt, a, since its last success.
func failingNotice(w *store.Webhook, a *store.Attempt, status int, lastError string) notice {
	n := newNotice(EventWebhookFailing, a.StartedAt, w)
	since := a.StartedAt.UTC()
	n.data.FailingSince, n.data.LastStatus, n.data.LastError = &since, &status, truncate(lastError, maxNoticeError)
	return n
}

// recoveredNotice: w's first success, a, after failing (since, when known).
func recoveredNotice(w *store.Webhook, a *store.Attempt, since *time.Time) notice {
	n := newNotice(EventWebhookRecovered, a.StartedAt, w)
	n.data.FailingSince = utc(since)
	return n
}

// disabledNotice: the gateway disabled w at at, for reason.
func disabledNotice(w *store.Webhook, at time.Time, reason string, since *time.Time) notice {
	n := newNotice(EventWebhookDisabled, at, w)
	n.data.Reason, n.data.FailingSince = reason, utc(since)
	return n
}

// exhaustedNotice: d, of event ev, was given up after its attempt a.
func exhaustedNotice(w *store.Webhook, d *store.Delivery, ev *store.Event, a *store.Attempt) notice {
	n := newNotice(EventDeliveryExhausted, a.StartedAt, w)
	n.data.Delivery = &opDelivery{ID: d.ID, EventID: d.EventID, EventType: ev.Type, EventName: d.EventName, Attempts: d.Attempts,
		LastStatus: d.LastStatus, LastError: truncate(d.LastError, maxNoticeError)}
	return n
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// publishNotice publishes an operator event to every subscriber but its subject; one
// that nobody receives is not written, so that a storm of failures costs no events.
func (e *Engine) publishNotice(ctx context.Context, n notice) error {
	data, err := json.Marshal(n.data)
	if err != nil {
		return err
	}
	subject := n.subject.ID
	_, _, err = e.publish(ctx, PublishInput{Type: n.typ, Tenant: n.subject.Owner, Data: data, OccurredAt: n.at,
		Exclude: func(w *store.Webhook) bool { return w.ID == subject }, unlessMatched: true})
	return err
}

// notifier publishes the operator events the recorder decided, after their transaction
// committed, in a goroutine of its own so that recording never waits for a publish. It
// holds at most noticeQueue of them; past that (the database failing behind a storm of
// failures) it drops them, logged and counted, rather than hold up the recorder.
type notifier struct {
	publish func(context.Context, notice) error
	log     *slog.Logger

	mu      sync.RWMutex
	running bool
	in      chan notice
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

func newNotifier(publish func(context.Context, notice) error, log *slog.Logger) *notifier {
	return &notifier{publish: publish, log: log}
}

func (n *notifier) start(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.running = true
	n.in = make(chan notice, noticeQueue)
	n.done.Add(1)
	go func() {
		defer n.done.Done()
		for first := range n.in {
			group := []notice{first}
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
			var wg sync.WaitGroup
			for _, x := range group {
				wg.Go(func() { n.send(x) })
			}
			wg.Wait()
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
func (n *notifier) put(ns []notice) {
	if len(ns) == 0 {
		return
	}
	n.mu.RLock()
	if !n.running {
		n.mu.RUnlock()
		for _, x := range ns {
			n.send(x)
		}
		return
	}
	defer n.mu.RUnlock()
	for _, x := range ns {
		n.pending.Add(1)
		select {
		case n.in <- x:
		default:
			n.pending.Add(-1)
			operatorEventsTotal.WithLabelValues(x.typ, "dropped").Inc()
			n.log.Warn("operator event dropped: too many waiting to be published", "type", x.typ, "webhook", x.subject.ID)
		}
	}
}

func (n *notifier) send(x notice) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.publish(ctx, x); err != nil {
		operatorEventsTotal.WithLabelValues(x.typ, "failed").Inc()
		n.log.Error("publishing an operator event", "type", x.typ, "webhook", x.subject.ID, "err", err)
		return
	}
	operatorEventsTotal.WithLabelValues(x.typ, "published").Inc()
}
