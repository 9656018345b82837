package native

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// Ingest takes in one webhook a vendor posted to a source: the source's dialect checks
// the vendor's signature (401 when it is missing or wrong, nothing stored) and decodes the
// body (400 when it is not the vendor's); the event is then published as
// "<dialect>:<native name>", which the catalogue maps to every other dialect's names, and
// stored with its deliveries in one transaction before the 2xx. The vendor's event id, or
// the body's hash when its format carries none, is the idempotency key. An event never
// goes back to a webhook whose URL is the source's own ingest URL. Every refusal is logged
// with the source's id.
func (h handlers) Ingest(c echo.Context, id string) error {
	ctx := c.Request().Context()
	src, err := h.sources.get(c, h.db, id)
	if err != nil {
		if store.ErrorCode(err) == store.ENOTFOUND {
			// A fixed message: ids that name no source are the client's, unbounded.
			h.log.Warn("ingest refused: no such source", "source", id)
		}
		return err
	}
	d, err := h.ingester(src.Dialect)
	if err != nil {
		return err
	}
	body, err := server.ReadBody(c)
	if err != nil {
		if store.ErrorCode(err) != store.ETOOLARGE { // logged by logOversizedIngest
			h.refused(id, "bad request", err)
		}
		return err
	}
	if err := d.Verify(src, c.Request().Header, body, h.db.Now()); err != nil {
		h.refused(id, "the signature does not verify", err)
		if store.ErrorCode(err) == store.EUNAUTHORIZED {
			return err
		}
		return store.Errorf(store.EUNAUTHORIZED, "The signature does not verify.")
	}
	in, err := d.Decode(c.Request().Header, body)
	if err == nil {
		err = checkInbound(in)
	}
	if err != nil {
		h.refused(id, "malformed body", err)
		return err
	}
	tenant := in.Tenant
	if tenant == "" {
		tenant = src.Tenant
	}
	typ := src.Dialect + ":" + in.Name
	eventID := IngestEventID(src.ID, in.ID, body)
	if h.ingested.has(eventID) {
		// Taken in by this process already: a vendor's redelivery.
		h.log.Info("ingested again", "source", id, "event", eventID)
		return c.JSON(http.StatusOK, api.Ingested{Id: eventID, Type: typ, Created: false})
	}
	ev, created, err := h.engine.Publish(ctx, delivery.PublishInput{
		ID: eventID, Type: typ, Tenant: tenant, Data: in.Data, OccurredAt: in.OccurredAt,
		Unlisted: true, Exclude: loopGuard(src.ID),
		// An id this process has not taken in recently is most likely new: the insert's
		// conflict finds the rest (taken in before a restart, or by another replica).
		Fresh: true,
	})
	if err != nil {
		if store.ErrorCode(err) == store.EINVALID {
			h.refused(id, "bad request", err)
		}
		return err
	}
	h.ingested.add(ev.ID)
	h.log.Info("ingested", "source", id, "event", ev.ID, "type", typ, "created", created, "deliveries", ev.Deliveries)
	return c.JSON(http.StatusOK, api.Ingested{Id: ev.ID, Type: typ, Created: created})
}

// refused logs why an ingest was refused, with the source's id in the message: the
// gateway's log holds back a warning that repeats within a minute (logging.go), and one
// source's refusals must not hide another's.
func (h handlers) refused(id, why string, err error) {
	if err != nil {
		h.log.Warn("ingest refused for "+id+": "+why, "source", id, "err", store.ErrorMessage(err))
		return
	}
	h.log.Warn("ingest refused for "+id+": "+why, "source", id)
}

// logOversizedIngest logs the bodies too large for ingest with their source's id: one
// announced as too large is refused before any handler runs.
func (a *API) logOversizedIngest(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if c.Path() == "/ingest/:sourceId" && c.Response().Status == http.StatusRequestEntityTooLarge {
			a.log.Warn("ingest refused: the body is too large", "source", c.Param("sourceId"))
		}
		return err
	}
}

// checkInbound bounds what a decoded body may carry into an event.
func checkInbound(in *server.Inbound) error {
	switch {
	case in.Name == "":
		return store.Errorf(store.EINVALID, "The body names no event.")
	case len(in.Name) > server.MaxInboundName || strings.ContainsAny(in.Name, "\r\n\t "):
		return store.Errorf(store.EINVALID, "The event name is longer than %d characters or has blanks.", server.MaxInboundName)
	case len(in.Tenant) > maxSourceTenant:
		return store.Errorf(store.EINVALID, "The tenant is longer than %d characters.", maxSourceTenant)
	case len(in.ID) > 256:
		return store.Errorf(store.EINVALID, "The event id is longer than 256 characters.")
	}
	return nil
}

// IngestEventID is the id of the event a source takes in: the vendor's own event id when
// it is a UUID (FusionAuth's), so that subscribers in the vendor's format see the id the
// vendor sent; otherwise derived from the source and the vendor's id, or from the body
// when the vendor's format carries no id (a vendor's redelivery sends the same body). A
// redelivery therefore creates nothing new.
func IngestEventID(sourceID, vendorID string, body []byte) string {
	if u, err := uuid.Parse(vendorID); err == nil && u.String() == vendorID {
		return vendorID
	}
	h := sha256.New()
	h.Write([]byte(sourceID))
	h.Write([]byte{0})
	if vendorID != "" {
		h.Write([]byte("id:" + vendorID))
	} else {
		sum := sha256.Sum256(body)
		h.Write([]byte("body:"))
		h.Write(sum[:])
	}
	return "evt_in_" + hex.EncodeToString(h.Sum(nil)[:20])
}

// loopGuard reports the webhooks whose URL is the source's own ingest URL, on any host:
// an event a source took in is never sent back to it.
func loopGuard(sourceID string) func(w *store.Webhook) bool {
	path := IngestPath(sourceID)
	return func(w *store.Webhook) bool {
		if !strings.Contains(w.URL, path) {
			return false
		}
		u, err := url.Parse(w.URL)
		return err == nil && strings.TrimSuffix(u.Path, "/") == path
	}
}

// sourceCache keeps the sources ingest reads, for a second: a vendor posting fast does not
// read its source from the database each time. A change made through this process is
// seen at once; one made through another replica within the second.
type sourceCache struct {
	mu      sync.Mutex
	entries map[string]cachedSource
}

type cachedSource struct {
	src *store.Source
	at  time.Time
}

const (
	sourceCacheTTL = time.Second
	maxCachedSrcs  = 1024
)

func (s *sourceCache) get(c echo.Context, db *store.DB, id string) (*store.Source, error) {
	now := time.Now()
	s.mu.Lock()
	e, ok := s.entries[id]
	s.mu.Unlock()
	if ok && now.Sub(e.at) < sourceCacheTTL {
		return e.src, nil
	}
	src, err := db.GetSource(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.entries == nil || len(s.entries) >= maxCachedSrcs {
		s.entries = map[string]cachedSource{}
	}
	s.entries[id] = cachedSource{src, now}
	s.mu.Unlock()
	return src, nil
}

func (s *sourceCache) forget(id string) {
	s.mu.Lock()
	delete(s.entries, id)
	s.mu.Unlock()
}

// recentIDs remembers the ids of the last events this process took in, so that a vendor's
// redelivery is answered without a write and a new event without a read first.
type recentIDs struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

// maxRecentIDs bounds the ids remembered, about 90 bytes each on the heap: 1.5 MB. An id
// that has left it is still found, by the insert's conflict. (65,536 of them were 6 MB of a
// live heap of 20 under a sustained ingest, three times that at the gateway's collection
// target: docs/benchmark.md, sixth pass.)
const maxRecentIDs = 1 << 14

func (r *recentIDs) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.set[id]
	return ok
}

func (r *recentIDs) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[id]; ok {
		return
	}
	if r.set == nil {
		r.set, r.ring = map[string]struct{}{}, make([]string, maxRecentIDs)
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next], r.set[id] = id, struct{}{}
	r.next = (r.next + 1) % maxRecentIDs
}
