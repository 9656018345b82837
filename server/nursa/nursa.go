// Package nursa serves Nursa's Public API V2 user webhooks (seed 002, vendors.md §3) on
// the shared webhook model: a client-credentials token endpoint, bearer JWTs, {"data": ...}
// envelopes and NestJS-style errors. Webhooks belong to the calling client.
package nursa

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/nursaapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// tokenTTL is how long an issued token is valid: an hour, as Nursa's production tokens.
const tokenTTL = time.Hour

// Dialect is the Nursa dialect.
type Dialect struct {
	db      *store.DB
	keys    *server.Keys
	limiter *server.Limiter
	logins  *server.Logins
	log     *slog.Logger
	// checkTarget refuses URLs deliveries may not reach (see server.Deps.Targets).
	checkTarget func(string) error
}

var _ server.Dialect = (*Dialect)(nil)

// New returns the Nursa dialect.
func New(deps server.Deps) *Dialect {
	return &Dialect{db: deps.DB, keys: deps.Keys, limiter: deps.Limiter, logins: deps.Logins, log: deps.Log, checkTarget: deps.CheckTarget}
}

// Name is "nursa".
func (d *Dialect) Name() string { return Name }

// Register serves Nursa's token endpoint and user-webhook paths.
func (d *Dialect) Register(r *server.Router) {
	api.RegisterHandlers(r.With(server.Errors(d.log, render), d.authenticate), handlers{d})
	r.Unrouted(unrouted, "/api/v2/public", "/oidc")
}

// unrouted answers a path or method no route takes as NestJS does: 404 "Cannot <METHOD>
// <url>", whatever the method (Express has no 405).
func unrouted(c echo.Context, _ error) error {
	return writeHTTPError(c, http.StatusNotFound, "Cannot "+c.Request().Method+" "+c.Request().RequestURI)
}

// MintCredential creates an OAuth client: a client id and a secret stored hashed.
func (d *Dialect) MintCredential(ctx context.Context, req server.CredentialRequest) (*server.MintedCredential, error) {
	if err := req.Refuse(Name); err != nil {
		return nil, err
	}
	secret := randomSecret()
	c := &store.Credential{
		ID:         "nursa_" + strings.ReplaceAll(uuid.NewString(), "-", ""),
		Dialect:    Name,
		Name:       req.Name,
		SecretHash: store.HashSecret(secret),
	}
	if err := d.db.CreateCredential(ctx, c); err != nil {
		return nil, err
	}
	return &server.MintedCredential{Credential: c, Fields: map[string]any{"clientId": c.ID, "clientSecret": secret}}, nil
}

// CredentialFields is empty: the client id is the credential's id.
func (d *Dialect) CredentialFields(*store.Credential) map[string]any { return nil }

// Encoder is the dialect's part in delivery.
func (d *Dialect) Encoder() delivery.Encoder { return Encoder{} }

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// generatedSecret is a webhook secret like Nursa's: 32 alphanumeric characters.
func generatedSecret() string {
	b := make([]byte, 32)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphanumerics))))
		b[i] = alphanumerics[n.Int64()]
	}
	return string(b)
}

type clientKey struct{}

// authenticate checks the bearer token on the webhook paths: a missing, invalid or expired
// token, or one whose client was revoked, is 401; a valid token of another Polyhook dialect
// is 403, as Nursa answers a token without the role. Each client is rate limited.
func (d *Dialect) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == tokenPath {
			return next(c)
		}
		tok, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if !ok {
			return errUnauthorized
		}
		claims, err := d.keys.ParseToken(strings.TrimSpace(tok))
		if err != nil {
			return errUnauthorized
		}
		if dialect, _ := claims["dialect"].(string); dialect != Name {
			return errForbidden
		}
		clientID, _ := claims["sub"].(string)
		if _, err := d.db.Credential(c.Request().Context(), Name, clientID); err != nil {
			if store.ErrorCode(err) == store.EUNAUTHORIZED {
				return errUnauthorized
			}
			return err
		}
		if ok, wait := d.limiter.Allow("nursa:" + clientID); !ok {
			return &tooManyRequests{retryAfter: wait}
		}
		c.Set("nursa.client", clientID)
		return next(c)
	}
}

func clientOf(c echo.Context) string {
	s, _ := c.Get("nursa.client").(string)
	return s
}

const tokenPath = "/oidc/oauth/token"

type handlers struct{ *Dialect }

var _ api.ServerInterface = handlers{}

// IssueToken is the client-credentials grant. Client authentication is in the form (or
// JSON) body, or HTTP Basic.
func (h handlers) IssueToken(c echo.Context) error {
	req := c.Request()
	var grant, id, secret string
	if strings.HasPrefix(req.Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		raw, err := server.ReadBody(c)
		if err != nil {
			return err
		}
		var body api.TokenRequest
		if err := json.Unmarshal(raw, &body); err != nil {
			return oauthError(http.StatusBadRequest, "invalid_request", "The request body is malformed.")
		}
		if body.GrantType != nil {
			grant = string(*body.GrantType)
		}
		id, secret = deref(body.ClientId), deref(body.ClientSecret)
	} else {
		if err := req.ParseForm(); err != nil {
			if e := server.BodyError(err); e != nil {
				return e
			}
			return oauthError(http.StatusBadRequest, "invalid_request", "The request body is malformed.")
		}
		grant, id, secret = req.PostForm.Get("grant_type"), req.PostForm.Get("client_id"), req.PostForm.Get("client_secret")
	}
	if u, p, ok := req.BasicAuth(); ok {
		id, secret = u, p
	}
	switch {
	case grant == "":
		return oauthError(http.StatusBadRequest, "invalid_request", "grant_type is required.")
	case grant != "client_credentials":
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "Only the client_credentials grant is supported.")
	case id == "" || secret == "":
		return oauthError(http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
	}
	cred, err := h.db.AuthenticateClient(req.Context(), Name, id, secret)
	if store.ErrorCode(err) == store.EUNAUTHORIZED {
		if err := h.logins.Failed(c, "nursa:"+id); err != nil {
			return err
		}
		return oauthError(http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
	} else if err != nil {
		return err
	}
	token, err := h.keys.IssueToken(Name, cred.ID, tokenTTL, nil)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, api.TokenResponse{AccessToken: token, TokenType: api.Bearer, ExpiresIn: int(tokenTTL.Seconds())})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (h handlers) CreateUserWebhook(c echo.Context) error {
	req, err := decodeCreate(c)
	if err != nil {
		return err
	}
	if err := h.checkTarget(req.Url); err != nil {
		return validationError([]string{"url is refused: " + err.Error()})
	}
	w := &store.Webhook{
		Dialect:    Name,
		ExternalID: uuid.NewString(),
		Owner:      clientOf(c),
		URL:        req.Url,
		Events:     events(req.Events),
		Enabled:    true,
		Secrets:    []string{generatedSecret()},
	}
	if req.Secrets != nil {
		w.Secrets = append([]string{}, *req.Secrets...)
	}
	if err := h.db.CreateWebhook(c.Request().Context(), w); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, api.WebhookResponse{Data: wire(w)})
}

func (h handlers) GetAllUserWebhooks(c echo.Context) error {
	owner := clientOf(c)
	ws, _, err := h.db.FindWebhooks(c.Request().Context(), store.WebhookFilter{Dialect: Name, Owner: &owner})
	if err != nil {
		return err
	}
	out := make([]api.Webhook, 0, len(ws))
	for i := range ws {
		out = append(out, wire(&ws[i]))
	}
	return c.JSON(http.StatusOK, api.WebhookListResponse{Data: out})
}

func (h handlers) UpdateUserWebhook(c echo.Context, webhookID string) error {
	existing, err := h.get(c, webhookID)
	if err != nil {
		return err
	}
	req, err := decodeUpdate(c)
	if err != nil {
		return err
	}
	if req.Url != nil && *req.Url != existing.URL {
		if err := h.checkTarget(*req.Url); err != nil {
			return validationError([]string{"url is refused: " + err.Error()})
		}
	}
	key := store.WebhookKey{Dialect: Name, Owner: existing.Owner, ExternalID: existing.ExternalID}
	w, err := h.db.UpdateWebhook(c.Request().Context(), key, func(w *store.Webhook) error {
		w.Events = events(req.Events)
		if req.Url != nil {
			w.URL = *req.Url
		}
		if req.Secrets != nil {
			w.Secrets = append([]string{}, *req.Secrets...)
			if len(w.Secrets) == 0 {
				w.Secrets = []string{generatedSecret()}
			}
		}
		return nil
	})
	if store.ErrorCode(err) == store.ENOTFOUND {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.WebhookResponse{Data: wire(w)})
}

func (h handlers) DeleteUserWebhook(c echo.Context, webhookID string) error {
	if _, err := uuid.Parse(webhookID); err != nil {
		return errBadUUID
	}
	err := h.db.DeleteWebhook(c.Request().Context(), store.WebhookKey{Dialect: Name, Owner: clientOf(c), ExternalID: webhookID})
	if store.ErrorCode(err) == store.ENOTFOUND {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

func (h handlers) get(c echo.Context, webhookID string) (*store.Webhook, error) {
	if _, err := uuid.Parse(webhookID); err != nil {
		return nil, errBadUUID
	}
	w, err := h.db.GetWebhook(c.Request().Context(), store.WebhookKey{Dialect: Name, Owner: clientOf(c), ExternalID: webhookID})
	if store.ErrorCode(err) == store.ENOTFOUND {
		return nil, errNotFound
	}
	return w, err
}

func events(es []api.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e)
	}
	return out
}

func wire(w *store.Webhook) api.Webhook {
	id, _ := uuid.Parse(w.ExternalID)
	es := make([]api.Event, len(w.Events))
	for i, e := range w.Events {
		es[i] = api.Event(e)
	}
	secrets := w.Secrets
	if secrets == nil {
		secrets = []string{}
	}
	return api.Webhook{Id: id, Url: w.URL, Events: es, ClientId: w.Owner, Secrets: secrets}
}
