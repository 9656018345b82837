// Package fusionauth serves FusionAuth's webhook API (seed 001, vendors.md §1) on the
// shared webhook model: /api/webhook[/{id}] and /api/webhook/search with FusionAuth's
// envelope, status codes, errors and raw-API-key authentication.
package fusionauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/fusionauthapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// Dialect is the FusionAuth dialect.
type Dialect struct {
	db     *store.DB
	keys   *server.Keys
	log    *slog.Logger
	logins *server.Logins
	// checkTarget refuses URLs deliveries may not reach (see server.Deps.Targets).
	checkTarget func(string) error
	encoder     *Encoder
	// parsedKeys are sources' public keys, parsed, by their text (ingest.go).
	parsedKeys  sync.Map
	parsedKeysN atomic.Int64
}

var _ server.Dialect = (*Dialect)(nil)

// New returns the FusionAuth dialect.
func New(deps server.Deps) *Dialect {
	return &Dialect{db: deps.DB, keys: deps.Keys, log: deps.Log, logins: deps.Logins, checkTarget: deps.CheckTarget,
		encoder: &Encoder{db: deps.DB, keys: deps.Keys}}
}

// Name is "fusionauth".
func (d *Dialect) Name() string { return Name }

// Register serves FusionAuth's webhook paths. Any other path or method below them answers
// FusionAuth's empty 404.
func (d *Dialect) Register(r *server.Router) {
	api.RegisterHandlers(r.With(server.Errors(d.log, render), d.authenticate), handlers{d})
	r.Unrouted(func(c echo.Context, _ error) error { return c.NoContent(http.StatusNotFound) },
		"/api/webhook", "/api/system/webhook-event-log", "/api/system/webhook-attempt-log")
}

// MintCredential creates a FusionAuth API key. The key is a 256-bit random string; only
// its hash is stored.
func (d *Dialect) MintCredential(ctx context.Context, req server.CredentialRequest) (*server.MintedCredential, error) {
	if err := req.Refuse(Name); err != nil {
		return nil, err
	}
	key := randomKey()
	c := &store.Credential{
		ID:         uuid.NewString(),
		Dialect:    Name,
		Name:       req.Name,
		SecretHash: store.HashSecret(key),
	}
	if err := d.db.CreateCredential(ctx, c); err != nil {
		return nil, err
	}
	return &server.MintedCredential{Credential: c, Fields: map[string]any{"apiKey": key}}, nil
}

// CredentialFields is empty: an API key has nothing to show but its id.
func (d *Dialect) CredentialFields(*store.Credential) map[string]any { return nil }

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authenticate accepts FusionAuth's "Authorization: <api key>", the raw key with no scheme.
// X-FusionAuth-TenantId, which the official client may add, is accepted and ignored:
// webhooks are not tenant-owned.
func (d *Dialect) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == jwksPath {
			return next(c) // public keys are public
		}
		key := strings.TrimSpace(c.Request().Header.Get(echo.HeaderAuthorization))
		if key == "" {
			return store.Errorf(store.EUNAUTHORIZED, "Missing API key.")
		}
		_, err := d.db.CredentialBySecret(c.Request().Context(), Name, key)
		if store.ErrorCode(err) == store.EUNAUTHORIZED {
			// A wrong key is a failed login; past the budget it is answered 429.
			if err := d.logins.Failed(c, ""); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		return next(c)
	}
}

const jwksPath = "/.well-known/jwks.json"

func (h handlers) RetrieveJsonWebKeySet(c echo.Context) error { return h.jwks(c) }

// handlers implements the generated server interface.
type handlers struct{ *Dialect }

var _ api.ServerInterface = handlers{}

func (h handlers) RetrieveWebhooks(c echo.Context) error {
	ws, _, err := h.db.FindWebhooks(c.Request().Context(), store.WebhookFilter{
		Dialect: Name,
		OrderBy: []store.WebhookOrder{{Field: store.OrderURL}},
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.WebhooksResponse{Webhooks: wireList(ws)})
}

func (h handlers) CreateWebhook(c echo.Context) error {
	return h.create(c, uuid.NewString())
}

func (h handlers) CreateWebhookWithId(c echo.Context, webhookID string) error {
	id, err := parseID(webhookID)
	if err != nil {
		return err
	}
	return h.create(c, id)
}

func (h handlers) create(c echo.Context, id string) error {
	w, err := h.readWebhook(c)
	if err != nil {
		return err
	}
	if err := h.checkURL(*w.Url); err != nil {
		return err
	}
	stored := toStore(w, &store.Webhook{ExternalID: id})
	if err := h.db.CreateWebhook(c.Request().Context(), stored); err != nil {
		if store.ErrorCode(err) == store.ECONFLICT {
			return fieldError("webhookId", "duplicate", "A Webhook with Id ["+id+"] already exists.")
		}
		return err
	}
	return c.JSON(http.StatusOK, api.WebhookResponse{Webhook: fromStore(stored)})
}

func (h handlers) RetrieveWebhook(c echo.Context, webhookID string) error {
	existing, err := h.get(c, webhookID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.WebhookResponse{Webhook: fromStore(existing)})
}

func (h handlers) UpdateWebhook(c echo.Context, webhookID string) error {
	id, err := parseID(webhookID)
	if err != nil {
		return err
	}
	if _, err := h.db.GetWebhook(c.Request().Context(), key(id)); err != nil {
		return err // a missing webhook is a 404 before the body is looked at
	}
	w, err := h.readWebhook(c)
	if err != nil {
		return err
	}
	return h.store(c, id, func(*store.Webhook) (*api.Webhook, error) { return w, nil })
}

func (h handlers) PatchWebhook(c echo.Context, webhookID string) error {
	id, err := parseID(webhookID)
	if err != nil {
		return err
	}
	if _, err := h.db.GetWebhook(c.Request().Context(), key(id)); err != nil {
		return err
	}
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	contentType := c.Request().Header.Get(echo.HeaderContentType)
	return h.store(c, id, func(existing *store.Webhook) (*api.Webhook, error) {
		current, err := json.Marshal(api.WebhookRequest{Webhook: ptr(fromStore(existing))})
		if err != nil {
			return nil, err
		}
		patched, err := applyPatch(contentType, current, body)
		if err != nil {
			return nil, err
		}
		w, err := decodeWebhook(patched)
		if err != nil {
			return nil, err
		}
		if err := h.validate(c, w); err != nil {
			return nil, err
		}
		return w, nil
	})
}

// store replaces the webhook with the one next makes from it as stored, atomically: a
// PATCH is applied to the webhook as it is when it is written, so concurrent changes all
// survive.
func (h handlers) store(c echo.Context, id string, next func(*store.Webhook) (*api.Webhook, error)) error {
	updated, err := h.db.UpdateWebhook(c.Request().Context(), key(id), func(existing *store.Webhook) error {
		w, err := next(existing)
		if err != nil {
			return err
		}
		if *w.Url != existing.URL {
			if err := h.checkURL(*w.Url); err != nil {
				return err
			}
		}
		*existing = *toStore(w, existing)
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.WebhookResponse{Webhook: fromStore(updated)})
}

// DeleteWebhook answers 200 with no body and no content type, as FusionAuth does; the
// official client fails on a JSON content type with an empty body.
func (h handlers) DeleteWebhook(c echo.Context, webhookID string) error {
	id, err := parseID(webhookID)
	if err != nil {
		return err
	}
	if err := h.db.DeleteWebhook(c.Request().Context(), key(id)); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// UpdateWebhookWithoutId and DeleteWebhookWithoutId answer as FusionAuth does when the id
// is left off the URI.
func (h handlers) UpdateWebhookWithoutId(echo.Context) error { return errMissingID }
func (h handlers) DeleteWebhookWithoutId(echo.Context) error { return errMissingID }

var errMissingID = fieldError("webhookId", "missing", "You must specify the Id of the Webhook on the URI.")

func (h handlers) SearchWebhooksByParameters(c echo.Context, p api.SearchWebhooksByParametersParams) error {
	return h.search(c, criteria{p.Description, p.Url, p.TenantId, p.NumberOfResults, p.StartRow, p.OrderBy}, "")
}

func (h handlers) SearchWebhooks(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req api.WebhookSearchRequest
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			return err
		}
	}
	var cr criteria
	if s := req.Search; s != nil {
		cr = criteria{description: s.Description, url: s.Url, orderBy: s.OrderBy}
		if s.TenantId != nil {
			cr.tenantID = ptr(s.TenantId.String())
		}
		if s.NumberOfResults != nil {
			cr.numberOfResults = ptr(strconv.Itoa(int(*s.NumberOfResults)))
		}
		if s.StartRow != nil {
			cr.startRow = ptr(strconv.Itoa(int(*s.StartRow)))
		}
	}
	return h.search(c, cr, "search.")
}

func (h handlers) search(c echo.Context, cr criteria, prefix string) error {
	f, err := cr.filter(prefix)
	if err != nil {
		return err
	}
	countOnly := f.Limit == 0
	if countOnly {
		f.Limit = 1 // the store reads 0 as "no limit"; the one row is dropped below
	}
	ws, total, err := h.db.FindWebhooks(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if countOnly {
		ws = nil
	}
	return c.JSON(http.StatusOK, api.WebhookSearchResponse{Total: total, Webhooks: wireList(ws)})
}

// get loads the webhook a path id names.
func (h handlers) get(c echo.Context, webhookID string) (*store.Webhook, error) {
	id, err := parseID(webhookID)
	if err != nil {
		return nil, err
	}
	return h.db.GetWebhook(c.Request().Context(), key(id))
}

// readWebhook reads, decodes and validates a {"webhook": {...}} body.
func (h handlers) readWebhook(c echo.Context) (*api.Webhook, error) {
	body, err := server.ReadBody(c)
	if err != nil {
		return nil, err
	}
	w, err := decodeWebhook(body)
	if err != nil {
		return nil, err
	}
	if err := h.validate(c, w); err != nil {
		return nil, err
	}
	return w, nil
}

// validate checks w's fields, then that the signing key it names exists.
func (h handlers) validate(c echo.Context, w *api.Webhook) error {
	if err := validate(w); err != nil {
		return err
	}
	if sc := w.SignatureConfiguration; sc != nil && sc.Enabled != nil && *sc.Enabled {
		_, err := h.db.GetSigningKey(c.Request().Context(), sc.SigningKeyId.String())
		if store.ErrorCode(err) == store.ENOTFOUND {
			return fieldError("webhook.signatureConfiguration.signingKeyId", "invalid",
				"The [signatureConfiguration.signingKeyId] property does not name a signing key (create one with POST /v1/keys).")
		}
		return err
	}
	return nil
}

// checkURL refuses a URL deliveries may not reach, as a validation error of the url field.
func (h handlers) checkURL(u string) error {
	if err := h.checkTarget(u); err != nil {
		return fieldError("webhook.url", "invalid", "The [url] property is refused: "+err.Error()+".")
	}
	return nil
}

// parseID reads a webhook id from the path: a UUID, in canonical form.
func parseID(s string) (string, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return "", fieldError("webhookId", "couldNotConvert", "Invalid [webhookId]: it must be a UUID.")
	}
	return id.String(), nil
}

func key(id string) store.WebhookKey {
	return store.WebhookKey{Dialect: Name, ExternalID: id}
}

func wireList(ws []store.Webhook) []api.Webhook {
	out := make([]api.Webhook, 0, len(ws))
	for i := range ws {
		out = append(out, fromStore(&ws[i]))
	}
	return out
}

func ptr[T any](v T) *T { return &v }
