// Package xsolla serves Xsolla Login's webhook methods (seed 000, vendors.md §2) on the
// shared webhook model: one subscription per Login project and event type, integer ids, a
// server JWT from the client-credentials token endpoint in X-SERVER-AUTHORIZATION, and
// Xsolla's {"error": {"code", "description"}} envelope.
package xsolla

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/xsollaapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

const (
	tokenTTL = time.Hour
	// refreshTTL bounds a refresh token, which Xsolla's token answer carries; exchanged with
	// grant_type=refresh_token (and the client's own id and secret) it gives a new pair.
	refreshTTL = 30 * 24 * time.Hour
	// refreshDialect marks refresh tokens, so that one is never taken as a server JWT.
	refreshDialect = Name + ":refresh"
	tokenPath      = "/api/oauth2/token"
	maxURLLen      = 500
)

// eventTypes are the Login events a webhook can be added for.
var eventTypes = []string{"registration", "authorization", "email_confirmation", "link_social_account", "new_verified_user"}

// Dialect is the Xsolla Login dialect.
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

// New returns the Xsolla dialect.
func New(deps server.Deps) *Dialect {
	return &Dialect{db: deps.DB, keys: deps.Keys, limiter: deps.Limiter, logins: deps.Logins, log: deps.Log, checkTarget: deps.CheckTarget}
}

// Name is "xsolla".
func (d *Dialect) Name() string { return Name }

// Register serves the token endpoint and the project webhook paths.
func (d *Dialect) Register(r *server.Router) {
	api.RegisterHandlers(r.With(server.Errors(d.log, render), d.authenticate), handlers{d})
	r.Unrouted(unrouted, "/api/projects", "/api/oauth2")
}

// unrouted answers a path or method no route takes in Xsolla's envelope: 404 003-061
// ("Object not found"), 405 000-405 for a path that exists with other methods (Xsolla
// documents no code for it; this one is ours).
func unrouted(c echo.Context, err error) error {
	if err == echo.ErrMethodNotAllowed {
		return render(c, xerr(http.StatusMethodNotAllowed, "000-405", "Method not allowed."))
	}
	return render(c, xerr(http.StatusNotFound, "003-061", "Object not found."))
}

// MintCredential creates a server OAuth client bound to the given Login projects.
func (d *Dialect) MintCredential(ctx context.Context, req server.CredentialRequest) (*server.MintedCredential, error) {
	if err := req.Refuse(Name, "projectIds"); err != nil {
		return nil, err
	}
	var ids []string
	if raw, ok := req.Fields["projectIds"]; ok && json.Unmarshal(raw, &ids) != nil {
		return nil, store.Errorf(store.EINVALID, "projectIds must be an array of Login project ids (UUIDs).")
	}
	if len(ids) == 0 {
		return nil, store.Errorf(store.EINVALID, "An xsolla credential needs projectIds: the Login projects (UUIDs) it may manage.")
	}
	var projects []string
	for _, p := range ids {
		id, err := uuid.Parse(p)
		if err != nil {
			return nil, store.Errorf(store.EINVALID, "Project id %q is not a UUID.", p)
		}
		projects = append(projects, id.String())
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	for {
		// Xsolla's client ids are integers.
		n, _ := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
		c := &store.Credential{
			ID:         strconv.FormatInt(1_000_000_000+n.Int64(), 10),
			Dialect:    Name,
			Name:       req.Name,
			SecretHash: store.HashSecret(secret),
			ProjectIDs: projects,
		}
		err := d.db.CreateCredential(ctx, c)
		if store.ErrorCode(err) == store.ECONFLICT {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &server.MintedCredential{Credential: c, Fields: map[string]any{"clientId": c.ID, "clientSecret": secret, "projectIds": projects}}, nil
	}
}

// CredentialFields shows the Login projects the credential may manage.
func (d *Dialect) CredentialFields(c *store.Credential) map[string]any {
	return map[string]any{"projectIds": c.ProjectIDs}
}

// Encoder is the dialect's part in delivery.
func (d *Dialect) Encoder() delivery.Encoder { return Encoder{} }

// authenticate checks the server JWT in X-SERVER-AUTHORIZATION (with or without "Bearer "),
// that its credential still exists, and rate limits the credential.
func (d *Dialect) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == tokenPath {
			return next(c)
		}
		tok := strings.TrimSpace(c.Request().Header.Get("X-SERVER-AUTHORIZATION"))
		tok = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(tok, "Bearer "), "bearer "))
		if tok == "" {
			return xerr(http.StatusUnauthorized, "003-040", "Unauthorized. Send the server JWT in the X-SERVER-AUTHORIZATION header.")
		}
		claims, err := d.keys.VerifyToken(Name, tok)
		if err != nil {
			return xerr(http.StatusUnauthorized, "002-016", "Invalid token.")
		}
		sub, _ := claims["sub"].(string)
		cred, err := d.db.Credential(c.Request().Context(), Name, sub)
		if store.ErrorCode(err) == store.EUNAUTHORIZED {
			return xerr(http.StatusUnauthorized, "002-016", "Invalid token.")
		} else if err != nil {
			return err
		}
		if ok, wait := d.limiter.Allow("xsolla:" + cred.ID); !ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			return xerr(http.StatusTooManyRequests, "003-429", "Too many requests.")
		}
		c.Set("xsolla.projects", cred.ProjectIDs)
		return next(c)
	}
}

type handlers struct{ *Dialect }

var _ api.ServerInterface = handlers{}

// GenerateJWT is the client-credentials grant of Xsolla's "Generate JWT".
func (h handlers) GenerateJWT(c echo.Context) error {
	req := c.Request()
	if err := req.ParseForm(); err != nil {
		if e := server.BodyError(err); e != nil {
			return e
		}
		return xerr(http.StatusUnprocessableEntity, "002-027", "The request body must be application/x-www-form-urlencoded.")
	}
	grant, id, secret := req.PostForm.Get("grant_type"), req.PostForm.Get("client_id"), req.PostForm.Get("client_secret")
	for _, p := range []struct{ name, v string }{{"grant_type", grant}, {"client_id", id}, {"client_secret", secret}} {
		if p.v == "" {
			return xerr(http.StatusUnprocessableEntity, "002-028", "Parameter "+p.name+" is not passed.")
		}
	}
	refresh := req.PostForm.Get("refresh_token")
	switch {
	case grant == "refresh_token" && refresh == "":
		return xerr(http.StatusUnprocessableEntity, "002-028", "Parameter refresh_token is not passed.")
	case grant != "client_credentials" && grant != "refresh_token":
		return xerr(http.StatusUnprocessableEntity, "002-027", "Parameter grant_type is invalid: client_credentials and refresh_token are supported.")
	}
	cred, err := h.db.AuthenticateClient(req.Context(), Name, id, secret)
	if store.ErrorCode(err) == store.EUNAUTHORIZED {
		if err := h.logins.Failed(c, "xsolla:"+id); err != nil {
			return err
		}
		return xerr(http.StatusUnauthorized, "003-040", "Unauthorized: unknown client_id or client_secret.")
	} else if err != nil {
		return err
	}
	if grant == "refresh_token" {
		// A refresh token is good only for the client it was issued to.
		claims, err := h.keys.VerifyToken(refreshDialect, refresh)
		if sub, _ := claims["sub"].(string); err != nil || sub != cred.ID {
			return xerr(http.StatusUnauthorized, "002-016", "Invalid token.")
		}
	}
	if ok, wait := h.limiter.Allow("xsolla:" + cred.ID); !ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return xerr(http.StatusTooManyRequests, "003-429", "Too many requests.")
	}
	token, err := h.keys.IssueToken(Name, cred.ID, tokenTTL, map[string]any{"projects": cred.ProjectIDs})
	if err != nil {
		return err
	}
	refreshed, err := h.keys.IssueToken(refreshDialect, cred.ID, refreshTTL, nil)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{
		"access_token": token, "token_type": "bearer", "expires_in": int(tokenTTL.Seconds()), "refresh_token": refreshed,
	})
}

// scope checks the project and event type of a path. A project the credential is not
// bound to is not found, exactly like one that does not exist.
func scope(c echo.Context, project, eventType string) (string, error) {
	id, err := uuid.Parse(project)
	projects, _ := c.Get("xsolla.projects").([]string)
	if err != nil || !slices.Contains(projects, id.String()) {
		return "", xerr(http.StatusNotFound, "003-019", "Project not found.")
	}
	if !slices.Contains(eventTypes, eventType) {
		return "", xerrDetails(http.StatusUnprocessableEntity, "002-027", "Parameter event_type is invalid.",
			map[string]any{"event_type": "must be one of " + strings.Join(eventTypes, ", ")})
	}
	return id.String(), nil
}

func (h handlers) AddWebhookForEvent(c echo.Context, project api.ProjectID, eventType api.EventType) error {
	owner, err := scope(c, project, eventType)
	if err != nil {
		return err
	}
	raw, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	in, err := decodeAdd(raw)
	if err != nil {
		return err
	}
	if err := h.checkTarget(in.Url); err != nil {
		return xerrDetails(http.StatusUnprocessableEntity, "002-027", "Parameter url is invalid.", map[string]any{"url": "is refused: " + err.Error()})
	}
	w := webhookOf(owner, eventType, in)
	for {
		n, _ := rand.Int(rand.Reader, big.NewInt(1<<31-1))
		w.ExternalID = strconv.FormatInt(n.Int64()+1, 10)
		err := h.db.CreateWebhook(c.Request().Context(), w)
		if store.ErrorCode(err) == store.ECONFLICT {
			w.ID = ""
			continue
		}
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, wire(w))
	}
}

func (h handlers) GetWebhooksForEvent(c echo.Context, project api.ProjectID, eventType api.EventType) error {
	owner, err := scope(c, project, eventType)
	if err != nil {
		return err
	}
	ws, _, err := h.db.FindWebhooks(c.Request().Context(), store.WebhookFilter{Dialect: Name, Owner: &owner})
	if err != nil {
		return err
	}
	out := []api.Webhook{}
	for i := range ws {
		if slices.Contains(ws[i].Events, eventType) {
			out = append(out, wire(&ws[i]))
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (h handlers) DeleteWebhookForEvent(c echo.Context, project api.ProjectID, eventType api.EventType, webhookID string) error {
	owner, err := scope(c, project, eventType)
	if err != nil {
		return err
	}
	notFound := xerr(http.StatusNotFound, "003-061", "Object not found.")
	if n, err := strconv.ParseInt(webhookID, 10, 64); err != nil || n <= 0 || strconv.FormatInt(n, 10) != webhookID {
		return notFound
	}
	key := store.WebhookKey{Dialect: Name, Owner: owner, ExternalID: webhookID}
	w, err := h.db.GetWebhook(c.Request().Context(), key)
	if store.ErrorCode(err) == store.ENOTFOUND || (err == nil && !slices.Contains(w.Events, eventType)) {
		return notFound
	} else if err != nil {
		return err
	}
	if err := h.db.DeleteWebhook(c.Request().Context(), key); store.ErrorCode(err) == store.ENOTFOUND {
		return notFound
	} else if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
