// Package native serves Polyhook's own API under /v1: credentials for every dialect and
// one view over the webhooks of all of them, behind the admin token.
package native

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// API is the native API.
type API struct {
	db     *store.DB
	engine *delivery.Engine
	keys   *server.Keys
	srv    *server.Server
	log    *slog.Logger
	logins *server.Logins
	// checkTarget refuses webhook URLs deliveries may not reach (see server.Deps.Targets).
	checkTarget func(string) error
	tokenHash   string
	portal      PortalOptions
	// sources caches the sources ingest reads, ingested the ids it took in (ingest.go).
	sources  *sourceCache
	ingested *recentIDs
}

// New returns the native API. tokenHash is store.HashSecret of the admin token. It
// registers the Standard Webhooks encoder with engine, which delivers the native
// subscriptions made at POST /v1/webhooks.
func New(deps server.Deps, engine *delivery.Engine, srv *server.Server, tokenHash string) *API {
	engine.Register(Encoder{})
	return &API{db: deps.DB, keys: deps.Keys, engine: engine, srv: srv, tokenHash: tokenHash, log: deps.Log, logins: deps.Logins, checkTarget: deps.CheckTarget, sources: &sourceCache{}, ingested: &recentIDs{}}
}

// Register serves /v1.
func (a *API) Register(r *server.Router) {
	api.RegisterHandlers(r.With(a.logOversizedIngest, server.Errors(a.log, render), a.authenticate, server.LimitNesting), handlers{a})
	r.Unrouted(render, "/v1")
	a.registerPortal(r)
}

// settingAdminToken holds the hash of a generated admin token.
const settingAdminToken = "admin_token_sha256"

// AdminToken settles the admin token and returns its hash. A configured token wins;
// otherwise the hash stored on an earlier start is used; otherwise a token is generated,
// its hash stored, and the token itself returned as generated, to be shown once.
func AdminToken(ctx context.Context, db *store.DB, configured string) (hash, generated string, err error) {
	if configured != "" {
		return store.HashSecret(configured), "", nil
	}
	if h, err := db.Setting(ctx, settingAdminToken); err == nil {
		return h, "", nil
	} else if store.ErrorCode(err) != store.ENOTFOUND {
		return "", "", err
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := "phk_" + base64.RawURLEncoding.EncodeToString(b)
	stored, err := db.InitSetting(ctx, settingAdminToken, store.HashSecret(token))
	if err != nil {
		return "", "", err
	}
	if !stored { // another replica generated one first
		h, err := db.Setting(ctx, settingAdminToken)
		return h, "", err
	}
	return store.HashSecret(token), token, nil
}

func (a *API) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Path(); p == "/healthz" || p == "/readyz" {
			return next(c) // probes carry no token
		} else if p == "/ingest/:sourceId" {
			return next(c) // vendors sign what they post (see Ingest)
		}
		auth := c.Request().Header.Get(echo.HeaderAuthorization)
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(store.HashSecret(strings.TrimSpace(token))), []byte(a.tokenHash)) != 1 {
			// A wrong token is a failed login (a missing one is not a guess); past the
			// budget it is answered 429. The right token is never throttled.
			if ok {
				if err := a.logins.Failed(c, ""); err != nil {
					return err
				}
				return store.Errorf(store.EUNAUTHORIZED, "The admin token was not accepted: it is not this gateway's admin token.")
			}
			return store.Errorf(store.EUNAUTHORIZED, "Send the admin token as \"Authorization: Bearer <token>\".")
		}
		return next(c)
	}
}

var statuses = map[string]int{
	store.EINVALID:       http.StatusBadRequest,
	store.EUNAUTHORIZED:  http.StatusUnauthorized,
	store.ENOTFOUND:      http.StatusNotFound,
	store.ECONFLICT:      http.StatusConflict,
	store.EINTERNAL:      http.StatusInternalServerError,
	store.EUNAVAILABLE:   http.StatusServiceUnavailable,
	store.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	store.ETHROTTLED:     http.StatusTooManyRequests,
	store.EUNPROCESSABLE: http.StatusUnprocessableEntity,
}

// render writes err as {"error": {"code", "message"}}.
func render(c echo.Context, err error) error {
	code, msg := store.ErrorCode(err), store.ErrorMessage(err)
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code, msg = store.EINVALID, http.StatusText(he.Code)
		switch he.Code {
		case http.StatusNotFound:
			code, msg = store.ENOTFOUND, fmt.Sprintf("Nothing is served at %s.", c.Request().URL.Path)
		case http.StatusMethodNotAllowed:
			code, msg = store.ENOTFOUND, fmt.Sprintf("%s is not served at %s.", c.Request().Method, c.Request().URL.Path)
		case http.StatusBadRequest:
			if m, ok := he.Message.(string); ok {
				msg = m
			}
		}
	}
	if code == store.ENOTFOUND && he == nil {
		msg = notFound(c, msg)
	}
	status := statuses[code]
	var e api.Error
	e.Error.Code = api.ErrorErrorCode(code)
	e.Error.Message = msg
	return c.JSON(status, e)
}

// notFound names what was not found when the store's message is a generic one ("Not
// found.", "Webhook not found."): the object the path's last id names, as in "Webhook
// wh_1 not found.".
func notFound(c echo.Context, msg string) string {
	if msg != "Not found." && (!strings.HasSuffix(msg, " not found.") || strings.Count(msg, " ") > 2) {
		return msg
	}
	names := c.ParamNames()
	for i := len(names) - 1; i >= 0; i-- {
		noun, ok := strings.CutSuffix(names[i], "Id")
		if !ok || noun == "" {
			continue
		}
		return fmt.Sprintf("%s%s %s not found.", strings.ToUpper(noun[:1]), noun[1:], c.Param(names[i]))
	}
	return msg
}

// MarshalMinted renders a new credential as the native API returns it, secrets included.
func MarshalMinted(m *server.MintedCredential) ([]byte, error) {
	return json.MarshalIndent(mintedWire(m), "", "  ")
}

func mintedWire(m *server.MintedCredential) api.NewCredential {
	c := m.Credential
	return api.NewCredential{
		Id:                   c.ID,
		Dialect:              c.Dialect,
		CreatedAt:            c.CreatedAt,
		Name:                 nonEmpty(c.Name),
		AdditionalProperties: shown(m.Fields),
	}
}

// shown are a dialect's credential fields as the native API answers them: empty ones and
// the names of the fixed fields left out.
func shown(fields map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range fields {
		switch k {
		case "id", "dialect", "name", "createdAt":
			continue
		}
		if v == nil || v == "" {
			continue
		}
		if s, ok := v.([]string); ok && len(s) == 0 {
			continue
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
