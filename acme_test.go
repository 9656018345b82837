package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// acme is a fifth dialect that exists only in tests, to prove the seam: it is built from
// the exported API of server, store and delivery alone, as a new vendor's package would
// be, and needs no change anywhere else. Its API is POST and GET /acme/v1/hooks with
// "Authorization: Bearer <api key>" and {"error": "..."} errors; its deliveries are
// {"topic", "data"} with the hook's secret in Acme-Secret.
type acme struct {
	db          *store.DB
	log         *slog.Logger
	logins      *server.Logins
	checkTarget func(string) error
}

const acmeName = "acme"

func newAcme(deps server.Deps) *acme {
	return &acme{db: deps.DB, log: deps.Log, logins: deps.Logins, checkTarget: deps.CheckTarget}
}

var _ server.Dialect = (*acme)(nil)

func (*acme) Name() string                                      { return acmeName }
func (d *acme) Encoder() delivery.Encoder                       { return acmeEncoder{} }
func (*acme) CredentialFields(*store.Credential) map[string]any { return nil }

func (d *acme) MintCredential(ctx context.Context, req server.CredentialRequest) (*server.MintedCredential, error) {
	if err := req.Refuse(acmeName); err != nil {
		return nil, err
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	key := "acme_" + base64.RawURLEncoding.EncodeToString(b)
	c := &store.Credential{ID: uuid.NewString(), Dialect: acmeName, Name: req.Name, SecretHash: store.HashSecret(key)}
	if err := d.db.CreateCredential(ctx, c); err != nil {
		return nil, err
	}
	return &server.MintedCredential{Credential: c, Fields: map[string]any{"apiKey": key}}, nil
}

func (d *acme) Register(r *server.Router) {
	api := r.With(server.Errors(d.log, acmeRender), d.authenticate)
	api.POST("/acme/v1/hooks", d.create)
	api.GET("/acme/v1/hooks", d.list)
	r.Unrouted(acmeRender, "/acme")
}

// acmeStatuses is the dialect's one error table.
var acmeStatuses = map[string]int{
	store.EINVALID:      http.StatusBadRequest,
	store.EUNAUTHORIZED: http.StatusUnauthorized,
	store.ENOTFOUND:     http.StatusNotFound,
	store.ECONFLICT:     http.StatusConflict,
	store.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	store.ETHROTTLED:    http.StatusTooManyRequests,
	store.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

func acmeRender(c echo.Context, err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return c.JSON(he.Code, map[string]string{"error": http.StatusText(he.Code)})
	}
	status, ok := acmeStatuses[store.ErrorCode(err)]
	if !ok {
		return c.JSON(http.StatusInternalServerError, map[string]string{"error": "Internal error."})
	}
	return c.JSON(status, map[string]string{"error": store.ErrorMessage(err)})
}

func (d *acme) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok {
			return store.Errorf(store.EUNAUTHORIZED, "Send the API key as a bearer token.")
		}
		cred, err := d.db.CredentialBySecret(c.Request().Context(), acmeName, key)
		if store.ErrorCode(err) == store.EUNAUTHORIZED {
			if err := d.logins.Failed(c, ""); err != nil {
				return err
			}
			return err
		} else if err != nil {
			return err
		}
		c.Set("acme.owner", cred.ID)
		return next(c)
	}
}

type acmeHook struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Topics []string `json:"topics"`
}

func (d *acme) create(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var in acmeHook
	if err := json.Unmarshal(body, &in); err != nil || in.URL == "" || len(in.Topics) == 0 {
		return store.Errorf(store.EINVALID, "A hook is {\"url\", \"topics\": [...]}.")
	}
	for _, t := range in.Topics {
		if !(acmeEncoder{}).Known(t) {
			return store.Errorf(store.EINVALID, "Unknown topic %q.", t)
		}
	}
	if err := d.checkTarget(in.URL); err != nil {
		return store.Errorf(store.EINVALID, "%s", err.Error())
	}
	w := &store.Webhook{Dialect: acmeName, ExternalID: uuid.NewString(), Owner: c.Get("acme.owner").(string),
		URL: in.URL, Events: in.Topics, Enabled: true, Secrets: []string{"acme-secret-" + uuid.NewString()}}
	if err := d.db.CreateWebhook(c.Request().Context(), w); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, acmeHook{ID: w.ExternalID, URL: w.URL, Topics: w.Events})
}

func (d *acme) list(c echo.Context) error {
	owner := c.Get("acme.owner").(string)
	ws, _, err := d.db.FindWebhooks(c.Request().Context(), store.WebhookFilter{Dialect: acmeName, Owner: &owner})
	if err != nil {
		return err
	}
	out := []acmeHook{}
	for _, w := range ws {
		out = append(out, acmeHook{ID: w.ExternalID, URL: w.URL, Topics: w.Events})
	}
	return c.JSON(http.StatusOK, map[string]any{"hooks": out})
}

// acmeEncoder is acme's part in delivery.
type acmeEncoder struct{}

var acmeCatalogue = map[string][]string{"user.created": {"user.signup"}, "user.deleted": {"user.gone"}}

func (acmeEncoder) Dialect() string { return acmeName }
func (acmeEncoder) Known(n string) bool {
	for _, ns := range acmeCatalogue {
		if slices.Contains(ns, n) {
			return true
		}
	}
	return n == "invoice.paid" // an event of its own, with no canonical equivalent
}
func (acmeEncoder) Subscribes(w *store.Webhook, n string) bool { return slices.Contains(w.Events, n) }
func (acmeEncoder) Events() map[string][]string                { return acmeCatalogue }
func (acmeEncoder) InScope(w *store.Webhook, tenant string) bool {
	return tenant != "" && w.Owner == tenant
}
func (acmeEncoder) SecretHeaders() []string { return []string{"Acme-Secret"} }
func (acmeEncoder) Encode(m *delivery.Message) ([]byte, http.Header, error) {
	data := m.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	body, err := json.Marshal(map[string]any{"topic": m.EventName, "data": data, "at": m.OccurredAt.UTC().Format(time.RFC3339)})
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if len(m.Webhook.Secrets) > 0 {
		h.Set("Acme-Secret", m.Webhook.Secrets[0])
	}
	return body, h, nil
}

// acmeSpec is acme's wire contract.
func acmeSpec() (*openapi3.T, error) {
	return openapi3.NewLoader().LoadFromData([]byte(acmeYAML))
}

const acmeYAML = `
openapi: 3.0.3
info: {title: Acme hooks, version: "1"}
paths:
  /acme/v1/hooks:
    post:
      operationId: createHook
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Hook'}
      responses:
        "201":
          description: Created.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Hook'}
        "400": {$ref: '#/components/responses/Error'}
        "401": {$ref: '#/components/responses/Error'}
        "413": {$ref: '#/components/responses/Error'}
        "429": {$ref: '#/components/responses/Error'}
        "503": {$ref: '#/components/responses/Error'}
    get:
      operationId: listHooks
      responses:
        "200":
          description: The credential's hooks.
          content:
            application/json:
              schema:
                type: object
                required: [hooks]
                properties:
                  hooks: {type: array, items: {$ref: '#/components/schemas/Hook'}}
        "401": {$ref: '#/components/responses/Error'}
        "413": {$ref: '#/components/responses/Error'}
        "429": {$ref: '#/components/responses/Error'}
        "503": {$ref: '#/components/responses/Error'}
components:
  responses:
    Error:
      description: An error.
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    Unrouted:
      description: A path or method no route takes.
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error: {type: string}
    Hook:
      type: object
      required: [url, topics]
      properties:
        id: {type: string}
        url: {type: string}
        topics: {type: array, items: {type: string}}
`
