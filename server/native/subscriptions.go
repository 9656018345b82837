package native

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/filter"
	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// Limits of a native subscription's fields.
const (
	maxURL         = 2048
	maxDescription = 255
	maxTenant      = 128
	maxHeaders     = 64
	maxHeaderValue = 4096
)

// reservedHeaders are set by the gateway on every delivery; a subscription cannot set them.
var reservedHeaders = []string{"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length", "host"}

// CreateWebhook subscribes an endpoint to canonical events (a "standard" webhook).
func (h handlers) CreateWebhook(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req api.NewWebhook
	if err := json.Unmarshal(body, &req); err != nil {
		return store.Errorf(store.EINVALID, "The body must be a JSON object: {\"url\", \"events\": [canonical names], \"tenant\"?, \"description\"?, \"headers\"?, \"filter\"?, \"rateLimit\"?, \"ordered\"?}.")
	}
	return h.createWebhook(c, req)
}

// createWebhook makes the native subscription req describes and answers it with its secret.
func (h handlers) createWebhook(c echo.Context, req api.NewWebhook) error {
	id := uuid.NewString()
	w := &store.Webhook{ID: id, Dialect: Dialect, ExternalID: id, Enabled: true, Global: true}
	if req.Tenant != nil && *req.Tenant != "" {
		if len(*req.Tenant) > maxTenant {
			return store.Errorf(store.EINVALID, "tenant is longer than %d characters.", maxTenant)
		}
		w.Owner, w.Global = *req.Tenant, false
	}
	if err := h.apply(w, &req.Url, &req.Events, req.Description, &req.Headers, req.Filter); err != nil {
		return err
	}
	if err := applyRateLimit(w, req.RateLimit); err != nil {
		return err
	}
	if req.Ordered != nil {
		w.Ordered = *req.Ordered
	}
	if err := h.db.CreateWebhook(c.Request().Context(), w); err != nil {
		return err
	}
	type createdWebhook struct { // api.CreatedWebhook, built from the one Webhook mapping
		api.Webhook
		Secret string `json:"secret"`
	}
	out := webhookWire(w)
	out.Circuit = &api.Circuit{State: api.CircuitClosed} // a new endpoint has no breaker
	return c.JSON(http.StatusCreated, createdWebhook{out, w.SigningSecrets[0].Secret})
}

// apply validates the given fields and sets them on w; a nil field is left as it is. A
// URL must also be one deliveries may reach (the gateway's SSRF policy).
func (h handlers) apply(w *store.Webhook, rawURL *string, events *[]string, description *string, headers *map[string]string, payloadFilter *api.Filter) error {
	if rawURL != nil {
		u, err := url.Parse(*rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
			len(*rawURL) > maxURL || strings.ContainsAny(*rawURL, " \t\r\n") {
			return store.Errorf(store.EINVALID, "url must be an absolute http or https URL of at most %d characters, without credentials.", maxURL)
		}
		if h.checkTarget != nil && *rawURL != w.URL {
			if err := h.checkTarget(*rawURL); err != nil {
				return store.Errorf(store.EINVALID, "url: %s", err.Error())
			}
		}
		w.URL = *rawURL
	}
	if events != nil {
		if len(*events) == 0 {
			return store.Errorf(store.EINVALID, "events must name at least one canonical event (GET /v1/event-types).")
		}
		var names []string
		seen := map[string]bool{}
		for _, e := range *events {
			if seen[e] {
				continue
			}
			if !delivery.IsCanonical(e) && !h.outsideCatalogue(e) {
				return store.Errorf(store.EINVALID, "Unknown event %q: events are canonical names (GET /v1/event-types), or \"<dialect>:<native name>\" for a vendor's event outside the catalogue.", e)
			}
			seen[e] = true
			// Checked as the list is read: each name costs a look through the catalogue.
			if names = append(names, e); len(names) > maxEvents {
				return store.Errorf(store.EINVALID, "events names more than %d events.", maxEvents)
			}
		}
		w.Events = names
	}
	if description != nil {
		if len(*description) > maxDescription {
			return store.Errorf(store.EINVALID, "description is longer than %d characters.", maxDescription)
		}
		w.Description = *description
	}
	if headers != nil && *headers != nil {
		if len(*headers) > maxHeaders {
			return store.Errorf(store.EINVALID, "At most %d headers.", maxHeaders)
		}
		// In name order, so that a message names the same offending header on every run.
		for _, k := range slices.Sorted(maps.Keys(*headers)) {
			v := (*headers)[k]
			if !validHeaderName(k) || slices.Contains(reservedHeaders, strings.ToLower(k)) {
				return store.Errorf(store.EINVALID, "Header %q cannot be set: it is not a valid header name, or the gateway sets it.", k)
			}
			if len(v) > maxHeaderValue || strings.ContainsAny(v, "\r\n\x00") {
				return store.Errorf(store.EINVALID, "The value of header %q is longer than %d bytes or holds a line break.", k, maxHeaderValue)
			}
		}
		w.Headers = *headers
	}
	if payloadFilter != nil {
		f, err := filter.Compile(*payloadFilter)
		if err != nil {
			return store.Errorf(store.EINVALID, "%s", err.Error())
		}
		w.Filter = nil
		if f != nil {
			// Compact, so that equal filters share one compiled copy in the engine.
			var buf bytes.Buffer
			if err := json.Compact(&buf, *payloadFilter); err != nil {
				return store.Errorf(store.EINVALID, "filter must be a JSON object.")
			}
			w.Filter = buf.Bytes()
		}
	}
	return nil
}

// validHeaderName reports whether k is an HTTP token (RFC 9110).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r > 127 || !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// GetWebhook shows one webhook of any dialect.
func (h handlers) GetWebhook(c echo.Context, id string) error {
	ctx := c.Request().Context()
	w, err := h.db.WebhookByID(ctx, id)
	if err != nil {
		return err
	}
	out := []api.Webhook{webhookWire(w)}
	if err := h.circuits(ctx, out); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out[0])
}

// circuits adds their endpoints' circuits (delivery.Circuit) to webhooks shown.
func (h handlers) circuits(ctx context.Context, ws []api.Webhook) error {
	ids := make([]string, len(ws))
	for i := range ws {
		ids[i] = ws[i].Id
	}
	cs, err := h.engine.Circuits(ctx, ids)
	if err != nil {
		return err
	}
	for i := range ws {
		c := cs[ws[i].Id]
		ws[i].Circuit = &api.Circuit{State: api.CircuitState(c.State), Until: c.Until}
	}
	return nil
}

// UpdateWebhook changes a standard webhook. A vendor dialect's webhook is its client's:
// changing it here would break what that client reads back, so it is ECONFLICT.
func (h handlers) UpdateWebhook(c echo.Context, id string) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req api.WebhookPatch
	if err := json.Unmarshal(body, &req); err != nil {
		return store.Errorf(store.EINVALID, "The body must be a JSON object: {\"url\"?, \"events\"?, \"description\"?, \"headers\"?, \"filter\"?, \"rateLimit\"?, \"ordered\"?}.")
	}
	// "rateLimit": null removes the limit, where an absent rateLimit leaves it: the
	// generated field cannot tell them apart, the raw value can (json.RawMessage is
	// given the literal null). Only that one key is kept, not a map of the body's.
	var probe struct {
		RateLimit json.RawMessage `json:"rateLimit"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return store.Errorf(store.EINVALID, "The body must be a JSON object.")
	}
	removeRateLimit := string(probe.RateLimit) == "null"
	ctx := c.Request().Context()
	w, err := h.db.WebhookByID(ctx, id)
	if err != nil {
		return err
	}
	if w.Dialect != Dialect {
		return store.Errorf(store.ECONFLICT, "The webhook belongs to the %s dialect; change it through that API.", w.Dialect)
	}
	// The change is applied to the webhook as stored when it is written, so a concurrent
	// change to another field is kept.
	w, err = h.db.UpdateWebhook(ctx, store.WebhookKey{Dialect: w.Dialect, Owner: w.Owner, ExternalID: w.ExternalID}, func(w *store.Webhook) error {
		if removeRateLimit {
			w.RateLimit = 0
		} else if err := applyRateLimit(w, req.RateLimit); err != nil {
			return err
		}
		if req.Ordered != nil {
			w.Ordered = *req.Ordered
		}
		return h.apply(w, req.Url, req.Events, req.Description, req.Headers, req.Filter)
	})
	if err != nil {
		return err
	}
	out := []api.Webhook{webhookWire(w)}
	if err := h.circuits(ctx, out); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out[0])
}

// DeleteWebhook deletes a webhook of any dialect. Its pending deliveries are cancelled
// when they come up.
func (h handlers) DeleteWebhook(c echo.Context, id string) error {
	ctx := c.Request().Context()
	w, err := h.db.WebhookByID(ctx, id)
	if err != nil {
		return err
	}
	if err := h.db.DeleteWebhook(ctx, store.WebhookKey{Dialect: w.Dialect, Owner: w.Owner, ExternalID: w.ExternalID}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// DisableWebhook takes a webhook of any dialect out of delivery until it is enabled: new
// events make no deliveries to it, and its pending ones are held until it is enabled.
func (h handlers) DisableWebhook(c echo.Context, id string) error {
	ctx := c.Request().Context()
	if _, err := h.db.WebhookByID(ctx, id); err != nil {
		return err
	}
	if err := h.db.DisableWebhook(ctx, id, "Disabled by an operator."); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// PauseWebhook pauses a webhook of any dialect: its deliveries are still made and wait,
// unattempted, until it is resumed.
func (h handlers) PauseWebhook(c echo.Context, id string) error {
	if err := h.engine.Pause(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ResumeWebhook ends a webhook's pause and sends what waited.
func (h handlers) ResumeWebhook(c echo.Context, id string) error {
	if err := h.engine.Resume(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// maxRateLimit bounds a subscription's rate limit, in attempts per second.
const maxRateLimit = 100000

// applyRateLimit sets w's rate limit, in attempts per second, when one is given.
func applyRateLimit(w *store.Webhook, limit *int) error {
	if limit == nil {
		return nil
	}
	if *limit < 1 || *limit > maxRateLimit {
		return store.Errorf(store.EINVALID, "rateLimit must be a whole number of attempts per second from 1 to %d.", maxRateLimit)
	}
	w.RateLimit = *limit
	return nil
}

// nonZero is nil for zero, else a pointer to n.
func nonZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

// webhookWire renders a webhook of any dialect in the native shape.
func webhookWire(w *store.Webhook) api.Webhook {
	events := w.Events
	if events == nil {
		events = []string{}
	}
	scope := api.Scope{Global: w.Global, Owner: nonEmpty(w.Owner)}
	if len(w.TenantIDs) > 0 {
		scope.TenantIds = &w.TenantIDs
	}
	out := api.Webhook{
		Id: w.ID, Dialect: api.Dialect(w.Dialect), ExternalId: w.ExternalID,
		Url: w.URL, Name: nonEmpty(w.Name), Description: nonEmpty(w.Description),
		Events: events, Enabled: w.Enabled, Scope: scope,
		DisabledAt: w.DisabledAt, DisabledReason: nonEmpty(w.DisabledReason), FailingSince: w.FailingSince,
		PausedAt:  w.PausedAt,
		RateLimit: nonZero(w.RateLimit),
		Ordered:   &w.Ordered,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
	}
	if len(w.Filter) > 0 {
		f := api.Filter(w.Filter)
		out.Filter = &f
	}
	if len(w.Headers) > 0 {
		names := slices.Sorted(maps.Keys(w.Headers))
		out.HeaderNames = &names
	}
	return out
}

// maxEvents bounds the events one native subscription lists.
const maxEvents = 256

// outsideCatalogue reports whether name is "<dialect>:<native name>" of a registered
// dialect with a native name the catalogue has no entry for: such events (a vendor's,
// taken in at POST /ingest/{id}) reach native subscriptions under that name, where a
// native name of the catalogue reaches them under its canonical name.
func (h handlers) outsideCatalogue(name string) bool {
	dialect, native, ok := strings.Cut(name, ":")
	if !ok || native == "" || len(name) > 128 || strings.ContainsAny(name, " \t\r\n") {
		return false
	}
	if _, ok = h.srv.Dialect(dialect); !ok {
		return false
	}
	for _, e := range h.engine.EventTypes() {
		if slices.Contains(e.Names[dialect], native) {
			return false
		}
	}
	return true
}
