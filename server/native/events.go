package native

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

func (h handlers) PublishEvent(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	// The generated request, but for data, which is kept as sent: decoded into the
	// generated map, numbers of any size would not survive. The engine checks it.
	var fields map[string]json.RawMessage
	var req api.PublishRequest
	if json.Unmarshal(body, &fields) != nil || fields == nil {
		return store.Errorf(store.EINVALID, "The body must be a JSON object: {\"type\", \"id\"?, \"tenant\"?, \"data\"?, \"occurredAt\"?, \"orderingKey\"?: <string of at most 128>}.")
	}
	data := fields["data"]
	delete(fields, "data")
	if rest, _ := json.Marshal(fields); json.Unmarshal(rest, &req) != nil {
		return store.Errorf(store.EINVALID, "The body must be a JSON object: {\"type\", \"id\"?, \"tenant\"?, \"data\"?, \"occurredAt\"?, \"orderingKey\"?: <string of at most 128>}.")
	}
	in := publishInput(req, data)
	if h.engine.ValidatesEvents() {
		if err := h.engine.ValidateData(in.Type, in.Data); err != nil {
			return err
		}
	}
	ev, created, err := h.engine.Publish(c.Request().Context(), in)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return c.JSON(status, eventWire(ev))
}

// publishInput is what the engine publishes for req, with data as sent.
func publishInput(req api.PublishRequest, data json.RawMessage) delivery.PublishInput {
	in := delivery.PublishInput{Type: req.Type, Data: data}
	if req.Id != nil {
		in.ID = *req.Id
	}
	if req.Tenant != nil {
		in.Tenant = *req.Tenant
	}
	if req.OccurredAt != nil {
		in.OccurredAt = *req.OccurredAt
	}
	if req.OrderingKey != nil {
		in.OrderingKey = *req.OrderingKey
	}
	return in
}

// eventOut is api.Event as it is answered: with its data as stored, not decoded into
// the generated map, where numbers past a float64's precision changed (12345678901234567890
// came back as 12345678901234567000) and members were sorted; and decoding and encoding
// the data again was most of the publish's answer's cost. The contract tests hold it to
// the spec's Event.
type eventOut struct {
	CreatedAt  time.Time       `json:"createdAt"`
	Data       json.RawMessage `json:"data"`
	Deliveries int             `json:"deliveries"`
	Id         string          `json:"id"`
	OccurredAt time.Time       `json:"occurredAt"`
	Tenant     *string         `json:"tenant,omitempty"`
	Type       string          `json:"type"`
}

func eventWire(ev *store.Event) eventOut {
	data := ev.Data
	if len(data) == 0 || data[0] != '{' {
		data = json.RawMessage(`{}`)
	}
	return eventOut{
		Id: ev.ID, Type: ev.Type, Tenant: nonEmpty(ev.Tenant), Data: data,
		OccurredAt: ev.OccurredAt, CreatedAt: ev.CreatedAt, Deliveries: ev.Deliveries,
	}
}

func (h handlers) GetEvent(c echo.Context, id string) error {
	ctx := c.Request().Context()
	ev, err := h.db.GetEvent(ctx, id)
	if err != nil {
		return err
	}
	ds, err := h.db.DeliveriesOfEvent(ctx, id)
	if err != nil {
		return err
	}
	list := make([]api.Delivery, 0, len(ds))
	for i := range ds {
		list = append(list, deliveryWire(&ds[i]))
	}
	type eventWithDeliveries struct {
		eventOut
		DeliveryList []api.Delivery `json:"deliveryList"`
	}
	return c.JSON(http.StatusOK, eventWithDeliveries{eventOut: eventWire(ev), DeliveryList: list})
}

func deliveryWire(d *store.Delivery) api.Delivery {
	out := api.Delivery{
		Id: d.ID, EventId: d.EventID, WebhookId: d.WebhookID, Dialect: api.Dialect(d.Dialect),
		EventName: d.EventName, Status: api.DeliveryStatus(d.Status), Attempts: d.Attempts,
		LastError: nonEmpty(d.LastError), NextAttemptAt: d.NextAttemptAt, DeliveredAt: d.DeliveredAt,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		// The lane is the event's ordering key; the event keeps no copy.
		OrderingKey: d.Lane,
	}
	if d.LastStatus != 0 {
		out.LastStatus = &d.LastStatus
	}
	return out
}

func (h handlers) GetDelivery(c echo.Context, id string) error {
	ctx := c.Request().Context()
	d, err := h.db.GetDelivery(ctx, id)
	if err != nil {
		return err
	}
	as, err := h.db.Attempts(ctx, id)
	if err != nil {
		return err
	}
	list := make([]api.Attempt, 0, len(as))
	for _, a := range as {
		w := api.Attempt{
			Id: a.ID, Number: a.Number, Url: a.URL, StartedAt: a.StartedAt, DurationMs: a.DurationMS,
			RequestHeaders: a.RequestHeaders, Error: nonEmpty(a.Error), ErrorKind: nonEmpty(a.ErrorKind),
			ResponseBody: nonEmpty(a.ResponseBody), RequestBody: nonEmpty(a.RequestBody),
		}
		if len(a.OmittedHeaders) > 0 {
			w.OmittedHeaders = &a.OmittedHeaders
		}
		if w.RequestHeaders == nil {
			w.RequestHeaders = map[string]string{}
		}
		if a.ResponseStatus != 0 {
			w.ResponseStatus = &a.ResponseStatus
		}
		if a.ResponseHeaders != nil {
			w.ResponseHeaders = &a.ResponseHeaders
		}
		list = append(list, w)
	}
	type deliveryWithAttempts struct {
		api.Delivery
		AttemptList []api.Attempt `json:"attemptList"`
	}
	return c.JSON(http.StatusOK, deliveryWithAttempts{Delivery: deliveryWire(d), AttemptList: list})
}

func (h handlers) ListEventTypes(c echo.Context) error {
	entries := h.engine.EventTypes()
	out := make([]api.EventType, 0, len(entries))
	for _, e := range entries {
		out = append(out, api.EventType{Type: e.Canonical, Description: e.Description, Names: e.Names, Schema: e.Schema})
	}
	return c.JSON(http.StatusOK, map[string]any{"eventTypes": out})
}

func (h handlers) GetWebhookSecrets(c echo.Context, id string) error {
	w, err := h.db.WebhookByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, secretsWire(w, h.db.Now()))
}

func (h handlers) RotateWebhookSecret(c echo.Context, id string) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	grace := 86400
	if len(body) > 0 {
		var req struct {
			GraceSeconds *int `json:"graceSeconds"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return store.Errorf(store.EINVALID, "The body must be {\"graceSeconds\": <0..604800>}.")
		}
		if req.GraceSeconds != nil {
			grace = *req.GraceSeconds
		}
	}
	if grace < 0 || grace > 604800 {
		return store.Errorf(store.EINVALID, "graceSeconds must be between 0 and 604800 (7 days).")
	}
	w, err := h.db.RotateSigningSecret(c.Request().Context(), id, time.Duration(grace)*time.Second)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, secretsWire(w, h.db.Now()))
}

func secretsWire(w *store.Webhook, now time.Time) map[string]any {
	type secret struct {
		Secret    string     `json:"secret"`
		ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	}
	out := []secret{}
	for _, s := range w.SigningSecrets {
		if s.ExpiresAt == nil || now.Before(*s.ExpiresAt) {
			out = append(out, secret{s.Secret, s.ExpiresAt})
		}
	}
	return map[string]any{"secrets": out}
}

func (h handlers) ListDeliveries(c echo.Context, p api.ListDeliveriesParams) error {
	dialect, err := h.dialect(p.Dialect)
	if err != nil {
		return err
	}
	f, err := deliveryFilter(p)
	if err != nil {
		return err
	}
	f.Dialect = dialect
	return h.deliveryPage(c, store.DeliveryPage{DeliveryFilter: f, EventType: deref(p.EventType), After: deref(p.Cursor)})
}

// deliveryFilter reads /v1/deliveries' filters and page, which the portal's list shares.
func deliveryFilter(p api.ListDeliveriesParams) (store.DeliveryFilter, error) {
	f := store.DeliveryFilter{EventID: deref(p.EventId), WebhookID: deref(p.WebhookId)}
	if p.Status != nil {
		switch s := string(*p.Status); s {
		case store.DeliveryPending, store.DeliverySucceeded, store.DeliveryFailed, store.DeliveryCancelled:
			f.Status = s
		default:
			return f, store.Errorf(store.EINVALID, "status must be pending, succeeded, failed or cancelled.")
		}
	}
	if p.Since != nil {
		f.Since = *p.Since
	}
	if p.Until != nil {
		f.Until = *p.Until
	}
	var err error
	f.Limit, f.Offset, err = page(p.Limit, p.Offset)
	return f, err
}

// deliveryPage answers one page of deliveries with its total and the next page's cursor.
func (h handlers) deliveryPage(c echo.Context, q store.DeliveryPage) error {
	if err := h.pageBy(q.Offset, q.After); err != nil {
		return err
	}
	if len(q.EventType) > 128 {
		return store.Errorf(store.EINVALID, "eventType is too long.")
	}
	ds, total, next, err := h.db.FindDeliveryPage(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := make([]api.Delivery, 0, len(ds))
	for i := range ds {
		out = append(out, deliveryWire(&ds[i]))
	}
	body := map[string]any{"deliveries": out}
	h.putTotal(body, total)
	if next != "" {
		body["nextCursor"] = next
	}
	return c.JSON(http.StatusOK, body)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (h handlers) RetryDelivery(c echo.Context, id string) error {
	d, err := h.engine.Retry(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, deliveryWire(d))
}

func (h handlers) EnableWebhook(c echo.Context, id string) error {
	if err := h.db.EnableWebhook(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// pageBy validates how a listing with cursors is paged: by offset or by cursor, not both,
// and by offset only as deep as the listings count (the store's CountCap), since an
// offset reads the rows it skips.
func (h handlers) pageBy(offset int, cursor string) error {
	switch {
	case cursor != "" && offset != 0:
		return store.Errorf(store.EINVALID, "Send either cursor or offset, not both.")
	case len(cursor) > 256:
		return store.Errorf(store.EINVALID, "cursor is too long.")
	case int64(offset) > h.db.CountCap:
		return store.Errorf(store.EINVALID, "offset goes to %d at most: page further with cursor (each page's nextCursor).", h.db.CountCap)
	}
	return nil
}

// page validates the common limit and offset parameters.
func page(limit, offset *int) (int, int, error) {
	l, o := 100, 0
	if limit != nil {
		l = *limit
	}
	if offset != nil {
		o = *offset
	}
	if l < 1 || l > 1000 || o < 0 {
		return 0, 0, store.Errorf(store.EINVALID, "limit must be between 1 and 1000 and offset at least 0.")
	}
	return l, o, nil
}

func (h handlers) ListEvents(c echo.Context, p api.ListEventsParams) error {
	f := store.EventFilter{Type: deref(p.Type), Tenant: deref(p.Tenant)}
	if p.Since != nil {
		f.Since = *p.Since
	}
	if p.Until != nil {
		f.Until = *p.Until
	}
	var err error
	if f.Limit, f.Offset, err = page(p.Limit, p.Offset); err != nil {
		return err
	}
	if err := h.pageBy(f.Offset, deref(p.Cursor)); err != nil {
		return err
	}
	evs, total, next, err := h.db.FindEventPage(c.Request().Context(), store.EventPage{EventFilter: f, After: deref(p.Cursor)})
	if err != nil {
		return err
	}
	out := make([]eventOut, 0, len(evs))
	for i := range evs {
		out = append(out, eventWire(&evs[i]))
	}
	body := map[string]any{"events": out}
	h.putTotal(body, total)
	if next != "" {
		body["nextCursor"] = next
	}
	return c.JSON(http.StatusOK, body)
}

// putTotal puts a listing's count into its body: total, and totalCapped where the store
// stopped counting at its cap (store.DB.CountCap), more matching.
func (h handlers) putTotal(body map[string]any, total int64) {
	if total > h.db.CountCap {
		body["total"], body["totalCapped"] = h.db.CountCap, true
		return
	}
	body["total"] = total
}

func (h handlers) RecoverWebhook(c echo.Context, id string) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req struct {
		Since           *time.Time `json:"since"`
		IncludeRetrying bool       `json:"includeRetrying"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Since == nil {
		return store.Errorf(store.EINVALID, "The body must be {\"since\": \"<RFC 3339 time>\", \"includeRetrying\": false}.")
	}
	r, err := h.engine.RecoverWith(c.Request().Context(), id, *req.Since, delivery.RecoverOptions{IncludeRetrying: req.IncludeRetrying})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, recoveryWire(r, store.RecoveryProgress{}))
}

func (h handlers) GetRecovery(c echo.Context, id string) error {
	r, err := h.db.GetRecovery(c.Request().Context(), id)
	if err != nil {
		return err
	}
	p, err := h.db.Progress(c.Request().Context(), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, recoveryWire(r, p))
}

func recoveryWire(r *store.Recovery, p store.RecoveryProgress) api.Recovery {
	return api.Recovery{Id: r.ID, WebhookId: r.WebhookID, Since: r.Since, Total: r.Total, Done: r.Done,
		Progress: api.RecoveryProgress{Attempted: p.Attempted, Succeeded: p.Succeeded, FailedAgain: p.FailedAgain, WaitingForRetry: p.WaitingForRetry},
		Retrying: r.Retrying, IncludeRetrying: r.IncludeRetrying,
		Status: api.RecoveryStatus(r.Status), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (h handlers) TestWebhook(c echo.Context, id string) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req struct {
		EventName string          `json:"eventName"`
		Data      json.RawMessage `json:"data"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return store.Errorf(store.EINVALID, "The body must be {\"eventName\"?, \"data\"?}.")
		}
	}
	w, err := h.db.WebhookByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if req.EventName == "" {
		if len(w.Events) == 0 {
			return store.Errorf(store.EINVALID, "The webhook subscribes to no event; name one in eventName.")
		}
		req.EventName = w.Events[0]
	}
	if len(req.Data) == 0 {
		req.Data = json.RawMessage(`{"test":true}`)
	}
	res, err := h.engine.TestSend(c.Request().Context(), w, req.EventName, req.Data, nil)
	if err != nil {
		return store.Errorf(store.EINVALID, "Cannot encode the test event: %v", err)
	}
	out := map[string]any{"success": res.Success(), "durationMs": res.Duration.Milliseconds()}
	if res.Status != 0 {
		out["status"] = res.Status
		hs := map[string]string{}
		for k, vs := range res.Header {
			hs[k] = strings.Join(vs, ", ")
		}
		out["headers"], out["body"] = hs, string(res.Body)
	}
	if res.Err != nil {
		out["error"], out["errorKind"] = res.Err.Error(), res.ErrKind
	}
	return c.JSON(http.StatusOK, out)
}
