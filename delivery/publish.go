package delivery

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/filter"
	"github.com/polyhook/polyhook/store"
)

// Publishing commits in groups. Concurrent publishes are written in one transaction
// (one commit, multi-row inserts, one query for the matching webhooks per scope) rather
// than one each: whoever finds no commit under way commits everything waiting, and
// whatever arrives meanwhile waits for the next commit. Nothing waits for a group to
// fill, so a lone publish is committed at once.

// publication is one event on its way into a group commit.
type publication struct {
	ev    *store.Event
	names map[string][]string // the event's names per dialect
	// exclude, when set, reports the webhooks that get no delivery (PublishInput.Exclude).
	exclude func(w *store.Webhook) bool
	// key is the event's ordering key: its lane in ordered webhooks.
	key string
	// unlessMatched leaves the event unwritten when it makes no delivery: an operator
	// event nobody subscribes to (opevents.go).
	unlessMatched bool
	done          chan error
	// span is the publish's trace span (invalid when tracing is off): the first attempts
	// this process sends become its children.
	span trace.SpanContext
}

// publisher is the part that publishes: it commits publications in groups, matching
// each event to its webhooks (with the caches it owns: the webhooks each scope matched,
// the compiled filters), claims for this process the first attempts the scheduler lets
// it (claimable), and hands those claims to the workers once the group commits.
//
// It is the first of the parts to stop: stop waits for the commits under way, whose
// claims still go to the workers. A publish after that still commits; its deliveries
// are due, for whichever process runs.
type publisher struct {
	db          driver.Driver
	clock       Clock
	replica     string
	rescueAfter time.Duration
	// encoders are the engine's, filled by Register before Start.
	encoders  map[string]Encoder
	rec       *recorder
	scheduler *scheduler
	breakers  *breakers
	lanes     *laneWaiting

	matched matchCache
	filters filterCache

	mu      sync.Mutex
	waiting []*publication
	busy    bool
	// idled, when set, is closed once no drain is under way (busy turns false): stop
	// waits on it. A WaitGroup would not do: a publish may start a drain (Add from zero)
	// while stop waits, which a WaitGroup forbids.
	idled chan struct{}
}

// maxGroup bounds the publications one transaction commits.
const maxGroup = 256

func (g *publisher) start(context.Context) error { return nil }

// stop waits for the group commits under way, or for ctx to end. A publish that comes
// meanwhile (an operator event, say) is committed too, before stop returns.
func (g *publisher) stop(ctx context.Context) error {
	for {
		g.mu.Lock()
		if !g.busy {
			g.mu.Unlock()
			return nil
		}
		if g.idled == nil {
			g.idled = make(chan struct{})
		}
		idled := g.idled
		g.mu.Unlock()
		select {
		case <-idled:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// submit commits p, with whatever else is waiting, and returns its outcome.
func (g *publisher) submit(p *publication) error {
	g.mu.Lock()
	g.waiting = append(g.waiting, p)
	if g.busy {
		g.mu.Unlock()
		return <-p.done
	}
	g.busy = true
	g.mu.Unlock()
	g.drain(true)
	return <-p.done
}

// idle reports whether no publication waits for a commit or is being committed.
func (g *publisher) idle() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.busy && len(g.waiting) == 0
}

// drain commits groups until none is waiting. The first caller commits the first group,
// its own, then leaves the rest to a goroutine so that its answer is not held up.
func (g *publisher) drain(first bool) {
	for {
		g.mu.Lock()
		n := min(len(g.waiting), maxGroup)
		if n == 0 {
			g.busy = false
			if g.idled != nil {
				close(g.idled)
				g.idled = nil
			}
			g.mu.Unlock()
			return
		}
		group := slices.Clone(g.waiting[:n])
		g.waiting = slices.Delete(g.waiting, 0, n)
		more := len(g.waiting) > 0
		g.mu.Unlock()
		g.commit(group)
		if first && more {
			go g.drain(false)
			return
		}
		first = false
	}
}

// commit writes a group of publications, each event with one delivery per subscribed
// webhook, in one transaction, then sends their claims. Where the database has one
// connection (SQLite) the attempts waiting to be recorded go in the same transaction
// (recorder.take): one commit then does the work of two. Should the group fail, each publication is tried alone, so that one
// publication's conflict is not the others' failure, and the attempts are recorded on
// their own.
func (g *publisher) commit(group []*publication) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	settles, taken := g.rec.take()
	restore := keep(settles)
	claimed, err := g.insert(ctx, group, settles)
	if err == nil {
		g.rec.settled(settles)
		taken()
		g.scheduler.dispatch(claimed, dispatchWait)
		for _, p := range group {
			p.done <- nil
		}
		return
	}
	if len(settles) > 0 {
		restore()
		g.rec.write(settles)
	}
	taken()
	if len(group) == 1 {
		group[0].done <- err
		return
	}
	for _, p := range group {
		claimed, err := g.insert(ctx, []*publication{p}, nil)
		if err == nil {
			g.scheduler.dispatch(claimed, dispatchWait)
		}
		p.done <- err
	}
}

// insert matches a group's events to webhooks and writes them and their deliveries,
// claimed by this process or due, and records settles. It returns
// the claims.
func (g *publisher) insert(ctx context.Context, group []*publication, settles []*settlement) ([]*claim, error) {
	candidates := map[scope]*matchSet{}
	var (
		evs           = make([]*store.Event, 0, len(group))
		deliveries    []store.Delivery
		claimed       []*claim
		claimedAt     []int // each claim's delivery in deliveries
		until         = g.now().Add(g.rescueAfter)
		read          = g.clock.Now() // before the webhooks are read
		writes, local = g.db.WebhookWrites()
	)
	for _, p := range group {
		dialects := make([]string, 0, len(p.names))
		for d := range p.names {
			dialects = append(dialects, d)
		}
		slices.Sort(dialects)
		key := scope{dialects: strings.Join(dialects, ","), tenant: p.ev.Tenant}
		var names []string
		if !local {
			// Replicas share the database, so no process sees every webhook write and none
			// keeps what a scope matched: each publish reads its event's subscribers only,
			// not every webhook of the scope.
			names = g.subscriptionNames(p.names)
			key.names = strings.Join(names, "\x00")
		}
		set, ok := candidates[key]
		if !ok && local {
			set, ok = g.matched.get(writes, key)
			if ok {
				candidates[key] = set
			}
		}
		if !ok {
			var found []store.Webhook
			var err error
			if local {
				found, err = g.db.MatchCandidates(ctx, dialects, p.ev.Tenant)
			} else {
				found, err = g.db.MatchSubscribers(ctx, dialects, p.ev.Tenant, names)
			}
			if err != nil {
				return nil, err
			}
			// Each webhook on its own, so that a claim, which may wait parked for long,
			// keeps its webhook alive, not the query's whole result.
			ws := make([]*store.Webhook, len(found))
			for j := range found {
				w := found[j]
				ws[j] = &w
			}
			set = &matchSet{ws: ws}
			candidates[key] = set
			if local {
				g.matched.put(writes, key, set)
			}
		}
		p.ev.Deliveries = 0
		var doc map[string]any // the event as filters see it, decoded once if needed
		for _, i := range set.subscribed(g.encoders, p.names) {
			w := set.ws[i]
			enc := g.encoders[w.Dialect]
			if s, ok := enc.(Scoper); ok && !s.InScope(w, p.ev.Tenant) {
				continue
			}
			if p.exclude != nil && p.exclude(w) {
				continue
			}
			if len(w.Filter) > 0 {
				f := g.filters.get(w.Filter)
				if doc == nil {
					doc = filter.Document(p.ev.Type, p.ev.Tenant, p.ev.OccurredAt, p.ev.Data)
				}
				if !f.Match(doc) {
					continue
				}
			}
			for _, name := range p.names[w.Dialect] {
				if !enc.Subscribes(w, name) {
					continue
				}
				d := store.Delivery{
					ID:        NewID("msg_"),
					EventID:   p.ev.ID,
					WebhookID: w.ID,
					Dialect:   w.Dialect,
					EventName: name,
					Status:    store.DeliveryPending,
					CreatedAt: p.ev.CreatedAt,
					UpdatedAt: p.ev.CreatedAt,
				}
				if w.Ordered {
					// In its lane: claimed or due as below only if it heads it (lanes.go).
					d.Lane = &p.key
				}
				if w.PausedAt != nil {
					// Made and kept, unattempted, until the webhook is resumed.
					d.HeldAt = &p.ev.CreatedAt
				} else if w.Ordered && g.breakers.paused(w.ID) {
					// Due, for the poll, which leaves the endpoint out until its probe answers:
					// a delivery that may not head its lane must not be given the probe.
					d.NextAttemptAt = &p.ev.CreatedAt
				} else if wait, ok := g.scheduler.claimable(w.ID, d.ID); ok {
					d.ClaimedUntil, d.ClaimedBy = &until, g.replica
					claimed = append(claimed, &claim{d: d, w: w, read: read, writes: writes, ev: p.ev, until: until, span: p.span})
					claimedAt = append(claimedAt, len(deliveries))
				} else if wait > 0 && g.breakers.paused(w.ID) {
					// Its breaker is open: held until it closes (store.CloseBreaker), out of
					// the due deliveries, which each new pause would have to move.
					d.HeldAt = &p.ev.CreatedAt
				} else {
					// Its endpoint is stuck, or the engine is not running: it is due when it
					// may be sent.
					at := p.ev.CreatedAt
					if wait > 0 {
						at = at.Add(jitter(wait))
					}
					d.NextAttemptAt = &at
				}
				deliveries = append(deliveries, d)
				p.ev.Deliveries++
				break
			}
		}
		if p.ev.Deliveries > 0 || !p.unlessMatched {
			evs = append(evs, p.ev)
		}
	}
	// Those not claimed are due at their next_attempt_at, for the scheduler. Without
	// settlements to take along, the events and deliveries are one write, which the
	// store makes a transaction of its own: on PostgreSQL one round trip rather than a
	// BEGIN, the write and a COMMIT.
	var err error
	if len(settles) == 0 {
		err = g.db.CreateEvents(ctx, evs, deliveries)
	} else {
		err = g.db.InTx(ctx, func(tx driver.Executor) error {
			// The settlements first: a lane whose head they finish is free for a delivery
			// published next to its lane.
			if err := g.rec.writeIn(ctx, tx, settles); err != nil {
				return err
			}
			return tx.CreateEvents(ctx, evs, deliveries)
		})
	}
	if err != nil {
		return nil, err
	}
	// A delivery that found its lane busy was not claimed: it waits for its lane, kept
	// here as its lane's successor (lanes.go).
	kept := claimed[:0]
	for i, cl := range claimed {
		if deliveries[claimedAt[i]].ClaimedUntil != nil {
			kept = append(kept, cl)
			continue
		}
		cl.d.ClaimedUntil, cl.d.ClaimedBy = nil, ""
		g.lanes.add(cl)
	}
	return kept, nil
}

// now is the publisher's clock in the store's precision.
func (g *publisher) now() time.Time { return g.clock.Now().UTC().Truncate(time.Millisecond) }

// matchCache keeps, on a store that sees every webhook write (SQLite, see
// driver.Driver.WebhookWrites), the webhooks each scope matched, for as long as no webhook has
// been written since: most publishes then read no webhook at all. The webhooks are
// shared, never changed, by the claims made from them.
type matchCache struct {
	mu     sync.Mutex
	writes uint64
	scopes map[scope]*matchSet
	held   int // webhooks in scopes, counted once per scope
}

// matchSet is the webhooks a scope matched (in the store's order), with, for each event
// name a publish asked about, those of them that subscribe to it. A publish goes through
// the subscribers of its event's names rather than through every candidate: with
// 10,000 webhooks in a scope and one subscribing, going through them all cost about
// 0.7 ms of CPU per event.
type matchSet struct {
	ws []*store.Webhook

	mu     sync.Mutex
	byName map[dialectName][]int32 // indexes into ws, ascending
}

type dialectName struct{ dialect, name string }

// maxMatchNames bounds the names a matchSet keeps subscribers of; past it, it starts
// again.
const maxMatchNames = 1024

// subscribers returns the indexes in s.ws, ascending, of the webhooks of dialect that
// subscribe to name (the dialect's Encoder.Subscribes), working them out the first time.
// The slice is shared: the caller must not change it.
func (s *matchSet) subscribers(encoders map[string]Encoder, dialect, name string) []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := dialectName{dialect, name}
	if l, ok := s.byName[k]; ok {
		return l
	}
	var l []int32
	if enc := encoders[dialect]; enc != nil {
		for i, w := range s.ws {
			if w.Dialect == dialect && enc.Subscribes(w, name) {
				l = append(l, int32(i))
			}
		}
	}
	if s.byName == nil || len(s.byName) >= maxMatchNames {
		s.byName = map[dialectName][]int32{}
	}
	s.byName[k] = l
	return l
}

// subscribed returns the indexes in s.ws, ascending and each once, of the webhooks that
// subscribe to one of names (an event's names, per dialect). The slice may be shared: the
// caller must not change it.
func (s *matchSet) subscribed(encoders map[string]Encoder, names map[string][]string) []int32 {
	var out []int32
	lists := 0
	for d, ns := range names {
		for _, n := range ns {
			l := s.subscribers(encoders, d, n)
			if len(l) == 0 {
				continue
			}
			switch lists {
			case 0:
				out = l
			case 1:
				out = append(slices.Clip(out), l...) // a copy: out was shared
			default:
				out = append(out, l...)
			}
			lists++
		}
	}
	if lists > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}

// scope is what a publish's webhooks are matched by: the dialects its event has names in
// (sorted, comma-joined) and its tenant; and, where the webhooks read are only the
// subscribers (MatchSubscribers), the names (subscriptionNames, NUL-joined).
type scope struct{ dialects, tenant, names string }

// subscriptionNames returns, sorted and each once, the names in a webhook's events that
// subscribe it to an event of names (its names, per dialect): those names, and the
// dialects' wildcards (Wildcards).
func (g *publisher) subscriptionNames(names map[string][]string) []string {
	var out []string
	for d, ns := range names {
		out = append(out, ns...)
		if w, ok := g.encoders[d].(Wildcards); ok {
			out = append(out, w.WildcardEvents()...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// maxMatchScopes bounds the scopes (tenants, mostly) the cache keeps, and
// maxMatchWebhooks the webhooks they hold in all (each scope has its own copies, a few
// KiB each at most); past either, it starts again. A scope matching more webhooks than
// that is not kept.
const (
	maxMatchScopes   = 4096
	maxMatchWebhooks = 16384
)

// get returns the webhooks key matched while the store had made writes webhook writes.
func (m *matchCache) get(writes uint64, key scope) (*matchSet, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if writes != m.writes {
		if writes > m.writes {
			m.writes, m.scopes, m.held = writes, nil, 0
		}
		return nil, false
	}
	ws, ok := m.scopes[key]
	return ws, ok
}

// put keeps what key matched when read after writes webhook writes, unless another
// write has been seen since.
func (m *matchCache) put(writes uint64, key scope, set *matchSet) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if writes != m.writes || len(set.ws) > maxMatchWebhooks {
		return
	}
	if m.scopes == nil || len(m.scopes) >= maxMatchScopes || m.held+len(set.ws) > maxMatchWebhooks {
		m.scopes, m.held = map[scope]*matchSet{}, 0
	}
	if old, ok := m.scopes[key]; ok {
		m.held -= len(old.ws)
	}
	m.scopes[key] = set
	m.held += len(set.ws)
}

// filterCache keeps webhooks' filters compiled, by their JSON, so that a publish matches
// them without parsing any. It holds at most maxFilters; past that, it starts again.
type filterCache struct {
	mu       sync.Mutex
	compiled map[string]*filter.Filter
}

const maxFilters = 4096

// never matches no event: what a stored filter that no longer compiles stands for, so that
// a webhook whose filter cannot be read gets nothing rather than everything.
var never = func() *filter.Filter {
	f, err := filter.Compile([]byte(`{"$or": [{"type": {"$exists": false}}]}`))
	if err != nil {
		panic(err)
	}
	return f
}()

// get returns raw compiled.
func (c *filterCache) get(raw []byte) *filter.Filter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.compiled[string(raw)]; ok {
		return f
	}
	f, err := filter.Compile(raw)
	if err != nil {
		f = never
	}
	if c.compiled == nil || len(c.compiled) >= maxFilters {
		c.compiled = map[string]*filter.Filter{}
	}
	c.compiled[string(raw)] = f
	return f
}
