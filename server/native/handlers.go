package native

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

type handlers struct{ *API }

var _ api.ServerInterface = handlers{}

func (h handlers) CreateCredential(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req api.CredentialRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return store.Errorf(store.EINVALID, "The body must be a JSON object: {\"dialect\": %s, ...}.", strings.Join(quoted(h.srv.DialectNames()), "|"))
	}
	d, ok := h.srv.Dialect(req.Dialect)
	if !ok {
		return store.Errorf(store.EINVALID, "Unknown dialect %q; this gateway serves %s.", req.Dialect, strings.Join(h.srv.DialectNames(), ", "))
	}
	cr := server.CredentialRequest{}
	if req.Name != nil {
		if len(*req.Name) > 255 {
			return store.Errorf(store.EINVALID, "The name is longer than 255 characters.")
		}
		cr.Name = *req.Name
	}
	// The dialect's own fields, as sent, for the dialect to decode.
	if len(req.AdditionalProperties) > 0 {
		var all map[string]json.RawMessage
		if err := json.Unmarshal(body, &all); err != nil {
			return store.Errorf(store.EINVALID, "The body must be a JSON object.")
		}
		cr.Fields = map[string]json.RawMessage{}
		for k := range req.AdditionalProperties {
			cr.Fields[k] = all[k]
		}
	}
	m, err := d.MintCredential(c.Request().Context(), cr)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, mintedWire(m))
}

func (h handlers) ListCredentials(c echo.Context, p api.ListCredentialsParams) error {
	dialect, err := h.dialect(p.Dialect)
	if err != nil {
		return err
	}
	cs, err := h.db.Credentials(c.Request().Context(), dialect)
	if err != nil {
		return err
	}
	out := make([]api.Credential, 0, len(cs))
	for _, cr := range cs {
		w := api.Credential{Id: cr.ID, Dialect: cr.Dialect, CreatedAt: cr.CreatedAt, Name: nonEmpty(cr.Name)}
		if d, ok := h.srv.Dialect(cr.Dialect); ok {
			w.AdditionalProperties = shown(d.CredentialFields(&cr))
		}
		out = append(out, w)
	}
	return c.JSON(http.StatusOK, map[string]any{"credentials": out})
}

func (h handlers) DeleteCredential(c echo.Context, id string) error {
	if err := h.db.DeleteCredential(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h handlers) ListWebhooks(c echo.Context, p api.ListWebhooksParams) error {
	dialect, err := h.dialect(p.Dialect)
	if err != nil {
		return err
	}
	f := store.WebhookFilter{Dialect: dialect}
	if p.Health != nil {
		f.Health = string(*p.Health)
	}
	if f.Limit, f.Offset, err = page(p.Limit, p.Offset); err != nil {
		return err
	}
	ws, total, err := h.db.FindWebhooks(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]api.Webhook, 0, len(ws))
	for i := range ws {
		out = append(out, webhookWire(&ws[i]))
	}
	if err := h.circuits(c.Request().Context(), out); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"total": total, "webhooks": out})
}

// dialect validates an optional dialect filter: any registered dialect, served or
// delivered for (the native subscriptions are the latter).
func (h handlers) dialect(d *api.Dialect) (string, error) {
	if d == nil {
		return "", nil
	}
	if _, served := h.srv.Dialect(*d); served || slices.Contains(h.engine.Dialects(), *d) {
		return *d, nil
	}
	return "", store.Errorf(store.EINVALID, "Unknown dialect %q.", *d)
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strconv.Quote(n)
	}
	return out
}

// Healthz answers while the process runs.
func (h handlers) Healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// Readyz answers 200 when the store can keep what it is given (store.DB.Check: the
// database answers, has its tables, takes a write; the SQLite file is the one opened, on
// a disk with room), and 503 with the reason otherwise.
func (h handlers) Readyz(c echo.Context) error {
	if err := h.db.Check(c.Request().Context()); err != nil {
		h.log.Warn("not ready", "err", err)
		c.Response().Header().Set("Retry-After", server.RetryAfterUnavailable)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": store.ErrorMessage(err)})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
