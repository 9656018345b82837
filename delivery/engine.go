// Package delivery is the delivery engine: it accepts published events, matches them to
// every subscribed webhook of every dialect, and sends each in its dialect's wire format,
// durably (the event and its deliveries are written in one transaction, each delivery
// either claimed by this process for its first attempt or due for the poll; see
// claim.go), signed, retried with backoff, with every attempt recorded.
package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/store"
)

// Encoder is a dialect's part in delivery: its event names, which of its webhooks
// subscribe to an event, and its wire format. Each dialect package provides one.
type Encoder interface {
	// Dialect is the dialect's name, as in store.Webhook.Dialect.
	Dialect() string
	// Known reports whether native is one of the dialect's event names.
	Known(native string) bool
	// Subscribes reports whether w receives events named native.
	Subscribes(w *store.Webhook, native string) bool
	// Encode renders one attempt: the body and the headers the vendor sends with it
	// (content type, the vendor's own signature). The engine adds the Standard Webhooks
	// headers and the webhook's custom headers.
	Encode(m *Message) (body []byte, header http.Header, err error)
	// Events is the dialect's column of the catalogue: for each canonical event (by
	// Canonical.Name) it has an equivalent of, its native names, the first the one a
	// webhook gets when it subscribes to none of the others.
	Events() map[string][]string
	// SecretHeaders names the headers of Encode whose values are secrets: attempts record
	// them as store.RedactedValue.
	SecretHeaders() []string
}

// Wildcards is an Encoder whose webhooks may subscribe to every event by a name of their
// own among their events (an "all", say), besides by each event's name.
type Wildcards interface {
	Encoder
	// WildcardEvents are the names that subscribe a webhook to every event.
	WildcardEvents() []string
}

// RetryUnits is an Encoder whose webhooks can carry their own retry setting
// (store.Retry), its delay counted in the dialect's own units.
type RetryUnits interface {
	Encoder
	// RetryUnit is the length of one unit of a store.Retry's DelayUnit; zero when unit is
	// not one of the dialect's, which counts in minutes.
	RetryUnit(unit string) time.Duration
}

// Scoper is an Encoder whose dialect has its own scope rule: which of the webhooks an
// event's tenant may reach (the store's candidates: global ones, and those owned by or
// listing the tenant) it does reach. An Encoder without one takes every candidate.
type Scoper interface {
	Encoder
	// InScope reports whether an event of tenant ("" when it has none) reaches w.
	InScope(w *store.Webhook, tenant string) bool
}

// CanonicalEncoder is an Encoder whose event names are the catalogue's canonical names
// themselves (the native, "standard" subscriptions): every entry of the catalogue reaches
// its webhooks under its canonical name, whether or not the entry lists the dialect.
type CanonicalEncoder interface {
	Encoder
	// CanonicalNames marks the encoder; it returns true.
	CanonicalNames() bool
}

// IsCanonical reports whether name is a canonical event name of the catalogue.
func IsCanonical(name string) bool {
	_, ok := catalogueByName[name]
	return ok
}

// Message is what an encoder renders.
type Message struct {
	DeliveryID string
	EventID    string
	// EventName is the event's name in the webhook's dialect.
	EventName  string
	Tenant     string
	OccurredAt time.Time
	Data       json.RawMessage
	Webhook    *store.Webhook
	// At is the time of this attempt.
	At time.Time
}

// Config tunes the engine. Zero values take the documented defaults.
type Config struct {
	// MaxAttempts bounds the attempts of one delivery (default 12; see RetryDelay for
	// the schedule). A webhook's own retry setting (store.Retry) wins.
	MaxAttempts int
	// Workers is how many deliveries one process sends at once (default 100).
	Workers int
	// PerEndpoint bounds how many of those one webhook can hold at once (default 16), so
	// that a slow or hanging endpoint never delays the others.
	PerEndpoint int
	// PollInterval is how often the maintenance queue (River: prune, sweep, recoveries)
	// looks for jobs (default 100ms on SQLite, 200ms on PostgreSQL, where inserts also
	// wake it). Deliveries never wait for it.
	PollInterval time.Duration
	// DisableAfter disables a webhook whose attempts have failed without a success for
	// this long (default 5 days); its deliveries are kept.
	DisableAfter time.Duration
	// Retention is how long attempts, finished deliveries and their events are kept
	// (default 30 days); an hourly job deletes what is older. Pending deliveries stay.
	Retention time.Duration
	// RescueAfter is how long a process's claim on a delivery lasts, and a maintenance
	// job may stay running, before it is taken for lost (its process died) and made due
	// or run again by any process (default 2m; attempts are bounded below it; parked
	// claims are renewed).
	RescueAfter time.Duration
	// ParkMemory bounds the memory one process gives first attempts that wait, parked,
	// for a place of a busy or stuck endpoint (default 32 MiB; each counts 2 KiB and its
	// event's data). Beyond it they are stored due a little later (scheduler.go), which
	// costs the database a write each.
	ParkMemory int64
	// Heartbeat is how often a process on PostgreSQL writes that it is alive (default
	// 1s); one silent for five of them is taken for dead and its claims are sent by the
	// others. It is also how often held deliveries of webhooks enabled again are made due.
	Heartbeat time.Duration
	// ValidateEvents has the native API check published data against its event type's
	// JSON Schema (ValidateData); off by default, since publishers may send more.
	ValidateEvents bool
	// Clock is where the engine reads the time (default the wall clock); tests move their
	// own.
	Clock  Clock
	Sender SenderOptions
	Log    *slog.Logger
}

func (c *Config) defaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 12
	}
	if c.Workers <= 0 {
		c.Workers = 100
	}
	if c.PerEndpoint <= 0 {
		c.PerEndpoint = 16
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.DisableAfter <= 0 {
		c.DisableAfter = 5 * 24 * time.Hour
	}
	if c.RescueAfter <= 0 {
		c.RescueAfter = 2 * time.Minute
	}
	if c.ParkMemory <= 0 {
		c.ParkMemory = 32 << 20
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.Clock == nil {
		c.Clock = wallClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Engine publishes and delivers events. It is the facade of its parts, each of which owns
// its state: the publisher (publish.go: group commits, first claims), the scheduler
// (scheduler.go: the one owner of when a delivery runs next), the endpoints' places and
// parked claims (slots.go), the workers (workers.go) running the attempt pipeline
// (pipeline.go, attempt.go) under the retry policy (retry.go) and the breakers
// (breaker.go), the recorder (recorder.go: the one writer of results), replicas'
// heartbeats (replicas.go) and the maintenance queue (queue.go: prune, sweep,
// recoveries); claims are described in claim.go, operators' retries and recoveries in
// operator.go. The sender (send.go), the SSRF guard (guard.go) and the request's headers
// (request.go, stdwebhooks.go) hold no engine state.
type Engine struct {
	db       driver.Driver
	cfg      Config
	log      *slog.Logger
	clock    Clock
	sender   *Sender
	encoders map[string]Encoder
	// columns are each dialect's column of the catalogue, as Encoder.Events gives it, and
	// natives the reverse: the canonical event of each native name, by dialect.
	columns map[string]map[string][]string
	natives map[string]map[string]*Canonical
	// secret are the headers whose values attempts never record (lower case).
	secret map[string]bool
	// replica names this process in the claims it holds and in its heartbeat.
	replica string

	// The parts with a life of their own, started in this order and stopped in reverse
	// (service.go): the heartbeat, the maintenance queue, the notifier of operator events,
	// the recorder, the endpoints, the workers, the scheduler and the publisher.
	services  []service
	beat      *heartbeat
	queue     driver.Queue
	notices   *notifier
	sweeper   *noticeSweeper
	rec       *recorder
	slots     *endpoints
	workers   *workers
	scheduler *scheduler
	publisher *publisher
	// The parts that live in their callers' goroutines.
	retry    retryPolicy
	breakers *breakers
	lanes    laneWaiting
	copies   copies
	states   stateReads
	pace     pacers
}

// New returns an engine on the database db drives (see driver/drivers). Register the
// dialects' encoders, then Start it.
func New(db driver.Driver, cfg Config) (*Engine, error) {
	cfg.defaults()
	e := &Engine{
		db:       db,
		cfg:      cfg,
		log:      cfg.Log,
		clock:    cfg.Clock,
		sender:   NewSender(cfg.Sender),
		encoders: map[string]Encoder{},
		columns:  map[string]map[string][]string{},
		natives:  map[string]map[string]*Canonical{},
		secret:   map[string]bool{"authorization": true, "webhook-signature": true},
		replica:  "rep_" + strings.ReplaceAll(uuid.NewString(), "-", ""),
		slots:    newEndpoints(cfg.PerEndpoint, cfg.ParkMemory, cfg.Clock),
		breakers: newBreakers(cfg.Clock, db, cfg.Log),
	}
	e.states.read = db.WebhookStates
	e.retry = retryPolicy{maxAttempts: cfg.MaxAttempts, units: e.retryUnit}
	e.beat = &heartbeat{db: db, clock: cfg.Clock, log: cfg.Log, replica: e.replica, every: cfg.Heartbeat}
	e.rec = newRecorder(db, cfg.Clock, cfg.Log, cfg.DisableAfter)
	e.notices = newNotifier(e.publishNotice, db, cfg.Log)
	e.rec.notify = e.notices.put
	e.workers = newWorkers(cfg.Workers, cfg.Clock, e.run)
	e.scheduler = &scheduler{db: db, clock: cfg.Clock, log: cfg.Log, replica: e.replica, rescueAfter: cfg.RescueAfter,
		heartbeat: cfg.Heartbeat, workers: e.workers, slots: e.slots, breakers: e.breakers, rec: e.rec, woken: make(chan struct{}, 1)}
	e.rec.laneMoved = e.scheduler.wake
	e.rec.replica, e.rec.rescueAfter, e.rec.successor = e.replica, cfg.RescueAfter, e.laneNext
	e.rec.dispatch = func(cls []*claim) { e.scheduler.dispatch(cls, 0) }
	e.slots.handBack = e.scheduler.handBack
	e.publisher = &publisher{db: db, clock: cfg.Clock, replica: e.replica, rescueAfter: cfg.RescueAfter, encoders: e.encoders,
		rec: e.rec, scheduler: e.scheduler, breakers: e.breakers, lanes: &e.lanes}
	q, err := newQueue(db, e)
	if err != nil {
		return nil, err
	}
	e.queue = q
	// The sweep of notices left unpublished publishes: it starts once the publisher has.
	e.sweeper = &noticeSweeper{n: e.notices, db: db, clock: cfg.Clock, log: cfg.Log}
	e.services = []service{e.beat, queueService{q}, e.notices, e.rec, e.slots, e.workers, e.scheduler, e.publisher, e.sweeper}
	return e, nil
}

// Register adds dialects' encoders, with their columns of the catalogue and their secret
// headers. A column naming an event that is not in the catalogue is a bug of its dialect:
// Register panics.
func (e *Engine) Register(encs ...Encoder) {
	for _, enc := range encs {
		d := enc.Dialect()
		events := enc.Events()
		for name := range events {
			if _, ok := catalogueByName[name]; !ok {
				panic(fmt.Sprintf("delivery: dialect %s names %q, which is not a canonical event", d, name))
			}
		}
		// A native name listed under several events belongs to the first of them.
		column, natives := map[string][]string{}, map[string]*Canonical{}
		for i := range Catalogue {
			c := &Catalogue[i]
			ns := events[c.Name]
			if len(ns) == 0 {
				continue
			}
			column[c.Name] = ns
			for _, n := range ns {
				if natives[n] == nil {
					natives[n] = c
				}
			}
		}
		e.encoders[d], e.columns[d], e.natives[d] = enc, column, natives
		for _, h := range enc.SecretHeaders() {
			e.secret[strings.ToLower(h)] = true
		}
	}
}

// Start starts the engine's parts, in order (see Engine.services); they run until Stop.
// From then on this process sends the first attempts of what it publishes itself (see
// claim.go) and takes its share of the deliveries due.
func (e *Engine) Start(ctx context.Context) error { return startAll(ctx, e.services) }

// Stop stops the parts in reverse order: the publisher finishes the group commits under
// way (a publish after that still commits, its deliveries due), the scheduler stops
// claiming, the workers finish the attempts in flight and hand the claims not yet tried
// back, due; the recorder writes what is left; the heartbeat goes last. When ctx ends
// first, the attempts in flight are cut short and handed back too; whatever is still
// unfinished is picked up again after a restart or by another replica.
func (e *Engine) Stop(ctx context.Context) error { return stopAll(ctx, e.services) }

// maxOrderingKey bounds an event's ordering key, in bytes.
const maxOrderingKey = 128

// PublishInput is an event to publish.
type PublishInput struct {
	// ID is an optional idempotency key; publishing an ID again returns the original event.
	ID         string
	Type       string
	Tenant     string
	Data       json.RawMessage
	OccurredAt time.Time
	// Unlisted accepts a "<dialect>:<native name>" Type whose native name the dialect does
	// not list (an event a vendor sent that is outside the catalogue): it reaches that
	// dialect's subscribers of the name, and native subscriptions to the whole type.
	Unlisted bool
	// Exclude, when set, is given every webhook the event would reach; those it reports
	// get no delivery (an event taken in from a vendor never goes back to its source).
	Exclude func(w *store.Webhook) bool
	// OrderingKey is the event's lane in each ordered webhook it reaches ("" is the
	// webhook's default lane); at most 128 bytes. Other webhooks ignore it.
	OrderingKey string
	// unlessMatched writes the event only if it makes a delivery (operator events).
	unlessMatched bool
	// Fresh says the caller expects ID to be new: the read for an earlier event with the
	// ID is skipped, and a duplicate is found by the insert's conflict instead, which
	// costs its group of publishes a retry one by one.
	Fresh bool
}

// Publish records ev and one delivery per subscribed webhook in one transaction, shared
// with concurrent publishes (see publish.go), and sends the deliveries this process
// claimed once it commits. It returns the event and whether this call created it (false
// when ev.ID was published before). Returns EINVALID for an unknown type or bad data.
func (e *Engine) Publish(ctx context.Context, in PublishInput) (ev *store.Event, created bool, err error) {
	ctx, span := tracer.Start(ctx, "publish", trace.WithAttributes(attribute.String("polyhook.event.type", in.Type)))
	defer func() {
		if span.IsRecording() {
			if ev != nil {
				span.SetAttributes(attribute.String("polyhook.event.id", ev.ID), attribute.Int("polyhook.event.deliveries", ev.Deliveries), attribute.Bool("polyhook.event.created", created))
			}
			if err != nil {
				span.SetStatus(codes.Error, store.ErrorMessage(err))
			}
		}
		span.End()
	}()
	if c := e.canonicalOf(in.Type); IsOperatorEvent(c) || IsOperatorEvent(in.Type) {
		return nil, false, store.Errorf(store.EINVALID, "type %q is one of the gateway's own events (polyhook.*), which only the gateway publishes.", in.Type)
	}
	return e.publish(ctx, in)
}

func (e *Engine) publish(ctx context.Context, in PublishInput) (*store.Event, bool, error) {
	if len(in.ID) > 128 {
		return nil, false, store.Errorf(store.EINVALID, "id is longer than 128 characters.")
	}
	if len(in.Tenant) > 128 {
		return nil, false, store.Errorf(store.EINVALID, "tenant is longer than 128 characters.")
	}
	if len(in.OrderingKey) > maxOrderingKey {
		return nil, false, store.Errorf(store.EINVALID, "orderingKey is longer than %d characters.", maxOrderingKey)
	}
	data := bytes.TrimSpace(in.Data)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	if data[0] != '{' || !json.Valid(data) {
		return nil, false, store.Errorf(store.EINVALID, "data must be a JSON object.")
	}
	if in.ID != "" && !in.Fresh {
		if ev, err := e.db.GetEvent(ctx, in.ID); err == nil {
			return ev, false, nil
		} else if store.ErrorCode(err) != store.ENOTFOUND {
			return nil, false, err
		}
	}
	names, err := e.resolve(in.Type, in.Unlisted)
	if err != nil {
		return nil, false, err
	}
	now := e.now()
	ev := &store.Event{ID: in.ID, Type: in.Type, Tenant: in.Tenant, Data: data, OccurredAt: in.OccurredAt.UTC(), CreatedAt: now}
	if ev.ID == "" {
		ev.ID = NewID("evt_")
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = now
	}
	err = e.publisher.submit(&publication{ev: ev, names: names, exclude: in.Exclude, key: in.OrderingKey, unlessMatched: in.unlessMatched,
		done: make(chan error, 1), span: trace.SpanContextFromContext(ctx)})
	if store.ErrorCode(err) == store.ECONFLICT && in.ID != "" {
		// Published concurrently under the same id: the other call won.
		existing, gerr := e.db.GetEvent(ctx, in.ID)
		if gerr == nil {
			return existing, false, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	publishedTotal.Inc()
	return ev, true, nil
}

// resolve maps a published type to the names it has in each registered dialect.
func (e *Engine) resolve(typ string, unlisted bool) (map[string][]string, error) {
	if typ == "" {
		return nil, store.Errorf(store.EINVALID, "type is required: a canonical event name or \"<dialect>:<native name>\".")
	}
	if entry, ok := catalogueByName[typ]; ok {
		return e.known(entry, "", ""), nil
	}
	if dialect, native, ok := strings.Cut(typ, ":"); ok {
		if enc, ok := e.encoders[dialect]; ok {
			if canonical(enc) && IsCanonical(native) {
				// A canonical dialect's native names are the canonical ones.
				return e.known(catalogueByName[native], "", ""), nil
			}
			if !enc.Known(native) && (!unlisted || native == "") {
				return nil, store.Errorf(store.EINVALID, "%q is not a %s event.", native, dialect)
			}
			if c := e.natives[dialect][native]; c != nil {
				return e.known(c, dialect, native), nil
			}
			// Outside the catalogue: the dialect's subscribers of the name, and native
			// subscriptions to the whole type.
			out := map[string][]string{dialect: {native}}
			for d, enc := range e.encoders {
				if canonical(enc) {
					out[d] = []string{typ}
				}
			}
			return out, nil
		}
	}
	return nil, store.Errorf(store.EINVALID, "Unknown event type %q: use a canonical name (GET /v1/event-types) or \"<dialect>:<native name>\".", typ)
}

// known returns entry's names for the registered dialects; origin, when set, is reached
// under exactly the native name it was published with.
func (e *Engine) known(c *Canonical, origin, native string) map[string][]string {
	out := map[string][]string{}
	for d, enc := range e.encoders {
		if canonical(enc) {
			out[d] = []string{c.Name}
		} else if ns := e.columns[d][c.Name]; len(ns) > 0 {
			out[d] = ns
		}
	}
	if origin != "" {
		out[origin] = []string{native}
	}
	return out
}

func canonical(enc Encoder) bool {
	c, ok := enc.(CanonicalEncoder)
	return ok && c.CanonicalNames()
}

// Dialects lists the dialects of the registered encoders, sorted.
func (e *Engine) Dialects() []string {
	out := make([]string, 0, len(e.encoders))
	for d := range e.encoders {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// EventTypes lists the catalogue with each registered dialect's names.
func (e *Engine) EventTypes() []Entry {
	out := make([]Entry, 0, len(Catalogue))
	for i := range Catalogue {
		c := &Catalogue[i]
		out = append(out, Entry{Canonical: c.Name, Description: c.Description, Names: e.known(c, "", ""), Schema: json.RawMessage(Schema(c.Name))})
	}
	return out
}

// redactHeaders is what an attempt records of its request headers: secrets (Authorization,
// the Standard Webhooks signature and every dialect's SecretHeaders, in secret) and the
// webhook's custom headers (an X-Api-Key, say) by name only.
func redactHeaders(h http.Header, custom map[string]string, secret map[string]bool) map[string]string {
	names := make(map[string]bool, len(custom))
	for k := range custom {
		names[http.CanonicalHeaderKey(k)] = true
	}
	out := make(map[string]string, len(h))
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if secret[strings.ToLower(k)] || names[http.CanonicalHeaderKey(k)] {
			v = store.RedactedValue
		}
		out[k] = v
	}
	return out
}

// now is the engine's clock in the store's precision.
func (e *Engine) now() time.Time { return e.clock.Now().UTC().Truncate(time.Millisecond) }

// Targets is the policy of which addresses deliveries may reach, for the dialects to
// check the URLs clients give against the same policy the sender dials with.
func (e *Engine) Targets() *Targets { return e.sender.Targets() }

// tracer makes the publish and attempt spans: OpenTelemetry's global tracer, a no-op (and
// no traceparent on deliveries) unless the command installs a provider.
var tracer = otel.Tracer("github.com/polyhook/polyhook/delivery")

// ErrUnknownDialect is returned for a webhook whose dialect has no encoder.
var ErrUnknownDialect = errors.New("delivery: unknown dialect")

// TestSend sends one test event to w now, outside the engine's workers, and returns what the
// endpoint answered: the body the dialect encodes from data, the dialect's headers, the
// Standard Webhooks headers and extra headers, through the same guarded sender. Nothing is
// recorded.
func (e *Engine) TestSend(ctx context.Context, w *store.Webhook, eventName string, data json.RawMessage, extra http.Header) (Result, error) {
	enc, ok := e.encoders[w.Dialect]
	if !ok {
		return Result{}, ErrUnknownDialect
	}
	at := e.now()
	id := NewID("test_")
	body, header, err := enc.Encode(&Message{DeliveryID: id, EventID: id, EventName: eventName, Tenant: w.Owner, OccurredAt: at, Data: data, Webhook: w, At: at})
	if err != nil {
		return Result{}, err
	}
	req, err := request(w, id, at, body, header, extra)
	if err != nil {
		return Result{}, err
	}
	return e.sender.Send(ctx, req), nil
}
