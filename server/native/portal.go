package native

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// The tenant portal: an operator makes a one-time link for one tenant (POST
// /v1/portal-links); the portal page exchanges it for an HttpOnly session cookie scoped to
// /portal; and every /portal/v1 route answers for that tenant's webhooks only. The routes
// mirror /v1's, and call the same handlers once the tenant's ownership is checked, so
// that the portal page and the console share their code.

const (
	// PortalCookie holds the session token; the database keeps its hash only.
	PortalCookie = "polyhook_portal"
	// PortalHeader must be on every /portal/v1 request: a page on another site cannot
	// send it without a CORS preflight the gateway never allows, so a session cookie sent
	// along by a forged request does nothing.
	PortalHeader = "X-Polyhook-Portal"

	defaultPortalTTL = time.Hour
	maxPortalTTL     = 720 * time.Hour
	// maxTenantWebhooks bounds the webhooks one tenant's listing reads.
	maxTenantWebhooks = 1000
)

var accentRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// PortalOptions configure the tenant portal.
type PortalOptions struct {
	// Origins may frame the portal (its frame-ancestors); none by default. With any, the
	// session cookie is SameSite=None and Secure, so that it is sent inside their frames.
	Origins []string
}

// WithPortal sets the portal's options.
func (a *API) WithPortal(o PortalOptions) *API {
	a.portal = o
	return a
}

// CreatePortalLink makes a one-time link into the portal for one tenant.
func (h handlers) CreatePortalLink(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req api.PortalLinkRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return store.Errorf(store.EINVALID, "The body must be a JSON object: {\"tenant\", \"expiresIn\"?, \"name\"?, \"accent\"?}.")
	}
	if req.Tenant == "" || len(req.Tenant) > maxTenant {
		return store.Errorf(store.EINVALID, "tenant is required, at most %d characters.", maxTenant)
	}
	ttl := defaultPortalTTL
	if req.ExpiresIn != nil && *req.ExpiresIn != "" {
		d, err := time.ParseDuration(*req.ExpiresIn)
		if err != nil || d < time.Minute || d > maxPortalTTL {
			return store.Errorf(store.EINVALID, "expiresIn must be a duration from 1m to 720h, like \"1h\" or \"30m\".")
		}
		ttl = d
	}
	l := &store.PortalLink{ID: uuid.NewString(), Tenant: req.Tenant, ExpiresAt: h.db.Now().Add(ttl)}
	if req.Name != nil {
		if len(*req.Name) > 64 {
			return store.Errorf(store.EINVALID, "name is longer than 64 characters.")
		}
		l.Name = *req.Name
	}
	if req.Accent != nil {
		if !accentRE.MatchString(*req.Accent) {
			return store.Errorf(store.EINVALID, "accent must be a colour as #rrggbb.")
		}
		l.Accent = strings.ToLower(*req.Accent)
	}
	token := randomToken()
	l.TokenHash = store.HashSecret(token)
	if err := h.db.CreatePortalLink(c.Request().Context(), l); err != nil {
		return err
	}
	// The token travels in the fragment, which browsers never send: it stays out of the
	// gateway's and any proxy's logs, and a link preview fetching the page cannot use it.
	u := c.Scheme() + "://" + c.Request().Host + "/portal/#token=" + token
	return c.JSON(http.StatusCreated, api.NewPortalLink{Id: l.ID, Url: u, Tenant: l.Tenant, ExpiresAt: l.ExpiresAt})
}

// ListPortalLinks lists the links in force, without their tokens.
func (h handlers) ListPortalLinks(c echo.Context, p api.ListPortalLinksParams) error {
	limit, offset, err := page(p.Limit, p.Offset)
	if err != nil {
		return err
	}
	ls, total, err := h.db.PortalLinksInForce(c.Request().Context(), deref(p.Tenant), offset, limit)
	if err != nil {
		return err
	}
	out := make([]api.PortalLink, 0, len(ls))
	for _, l := range ls {
		out = append(out, api.PortalLink{Id: l.ID, Tenant: l.Tenant, Name: nonEmpty(l.Name), Accent: nonEmpty(l.Accent),
			ExpiresAt: l.ExpiresAt, CreatedAt: l.CreatedAt, RedeemedAt: l.RedeemedAt})
	}
	return c.JSON(http.StatusOK, map[string]any{"total": total, "portalLinks": out})
}

// DeletePortalLink revokes a link and the session opened with it.
func (h handlers) DeletePortalLink(c echo.Context, id string) error {
	if err := h.db.RevokePortalLink(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// registerPortal serves /portal/v1: the session, then the tenant's routes.
func (a *API) registerPortal(r *server.Router) {
	h := handlers{a}
	base := r.With(server.Errors(a.log, render), portalHeader, server.LimitNesting)
	base.POST("/portal/v1/session", a.openPortalSession)
	t := base.With(a.portalAuth)
	t.GET("/portal/v1/session", a.portalSession)
	t.DELETE("/portal/v1/session", a.closePortalSession)
	t.GET("/portal/v1/event-types", h.ListEventTypes)
	t.GET("/portal/v1/webhooks", a.portalWebhooks)
	t.POST("/portal/v1/webhooks", a.portalCreateWebhook)
	own := func(native bool, next func(echo.Context, string) error) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Param("id")
			w, err := a.tenantWebhook(c, id)
			if err != nil {
				return err
			}
			if native && w.Dialect != Dialect {
				return store.Errorf(store.ECONFLICT, "The webhook belongs to the %s dialect; it is read-only here.", w.Dialect)
			}
			return next(c, id)
		}
	}
	t.GET("/portal/v1/webhooks/:id", own(false, h.GetWebhook))
	t.PATCH("/portal/v1/webhooks/:id", own(true, h.UpdateWebhook))
	t.DELETE("/portal/v1/webhooks/:id", own(true, h.DeleteWebhook))
	t.GET("/portal/v1/webhooks/:id/secrets", own(false, h.GetWebhookSecrets))
	t.POST("/portal/v1/webhooks/:id/secrets/rotate", own(true, h.RotateWebhookSecret))
	t.GET("/portal/v1/webhooks/:id/stats", own(false, h.GetWebhookStats))
	t.POST("/portal/v1/webhooks/:id/test", own(false, h.TestWebhook))
	t.POST("/portal/v1/webhooks/:id/recover", own(false, h.RecoverWebhook))
	t.POST("/portal/v1/webhooks/:id/disable", own(true, h.DisableWebhook))
	t.POST("/portal/v1/webhooks/:id/enable", own(true, h.EnableWebhook))
	t.GET("/portal/v1/recoveries/:id", func(c echo.Context) error {
		rec, err := a.db.GetRecovery(c.Request().Context(), c.Param("id"))
		if err != nil {
			return err
		}
		if _, err := a.tenantWebhook(c, rec.WebhookID); err != nil {
			return err
		}
		p, err := a.db.Progress(c.Request().Context(), rec)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, recoveryWire(rec, p))
	})
	t.GET("/portal/v1/deliveries", a.portalDeliveries)
	ownDelivery := func(next func(echo.Context, string) error) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Param("id")
			d, err := a.db.GetDelivery(c.Request().Context(), id)
			if err != nil {
				return err
			}
			if _, err := a.tenantWebhook(c, d.WebhookID); err != nil {
				return store.Errorf(store.ENOTFOUND, "Not found.")
			}
			return next(c, id)
		}
	}
	t.GET("/portal/v1/deliveries/:id", ownDelivery(h.GetDelivery))
	t.POST("/portal/v1/deliveries/:id/retry", ownDelivery(h.RetryDelivery))
	r.Unrouted(render, "/portal/v1")
}

func portalHeader(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Header.Get(PortalHeader) != "1" {
			return store.Errorf(store.EUNAUTHORIZED, "Portal requests carry the %s: 1 header.", PortalHeader)
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// portalAuth lets in requests with a live portal session, and keeps its link.
func (a *API) portalAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(PortalCookie)
		if err != nil || ck.Value == "" || len(ck.Value) > 128 {
			return store.Errorf(store.EUNAUTHORIZED, "No portal session: open the portal with the link you were given.")
		}
		l, err := a.db.PortalSession(c.Request().Context(), store.HashSecret(ck.Value))
		if err != nil {
			if store.ErrorCode(err) == store.ENOTFOUND {
				return store.Errorf(store.EUNAUTHORIZED, "The portal session has ended: ask for a new link.")
			}
			return err
		}
		c.Set("portalLink", l)
		return next(c)
	}
}

func portalLink(c echo.Context) *store.PortalLink {
	l, _ := c.Get("portalLink").(*store.PortalLink)
	return l
}

type portalSessionWire struct {
	Tenant    string    `json:"tenant"`
	Name      string    `json:"name,omitempty"`
	Accent    string    `json:"accent,omitempty"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func sessionWire(l *store.PortalLink) portalSessionWire {
	return portalSessionWire{Tenant: l.Tenant, Name: l.Name, Accent: l.Accent, ExpiresAt: l.ExpiresAt}
}

// openPortalSession exchanges a link's token ({"token"}) for the session cookie.
func (a *API) openPortalSession(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(body, &req) != nil || req.Token == "" || len(req.Token) > 128 {
		return store.Errorf(store.EINVALID, "The body must be {\"token\": \"<the link's token>\"}.")
	}
	session := randomToken()
	l, err := a.db.RedeemPortalLink(c.Request().Context(), store.HashSecret(req.Token), store.HashSecret(session))
	if err != nil {
		if store.ErrorCode(err) == store.ENOTFOUND {
			if ferr := a.logins.Failed(c, ""); ferr != nil {
				return ferr
			}
			return store.Errorf(store.EUNAUTHORIZED, "This portal link was used already, has expired or was revoked: ask for a new one.")
		}
		return err
	}
	ck := &http.Cookie{Name: PortalCookie, Value: session, Path: "/portal/", Expires: l.ExpiresAt,
		HttpOnly: true, Secure: c.Scheme() == "https", SameSite: http.SameSiteStrictMode}
	if len(a.portal.Origins) > 0 {
		// Inside another site's frame only a SameSite=None cookie is sent, which browsers
		// take only when Secure (they count http://localhost as secure). Partitioned
		// (CHIPS) keys it to the embedding site, so browsers that block third-party
		// cookies still keep it for that frame.
		ck.SameSite, ck.Secure, ck.Partitioned = http.SameSiteNoneMode, true, true
	}
	c.SetCookie(ck)
	return c.JSON(http.StatusCreated, sessionWire(l))
}

func (a *API) portalSession(c echo.Context) error {
	return c.JSON(http.StatusOK, sessionWire(portalLink(c)))
}

// closePortalSession signs out: the link and its session are revoked.
func (a *API) closePortalSession(c echo.Context) error {
	if err := a.db.RevokePortalLink(c.Request().Context(), portalLink(c).ID); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: PortalCookie, Value: "", Path: "/portal/", MaxAge: -1, HttpOnly: true})
	return c.NoContent(http.StatusNoContent)
}

// ownedBy reports whether tenant owns w: its one owner, or, for a dialect scoping by a
// list of tenants, a list of just this tenant. Global webhooks are the operator's.
func ownedBy(w *store.Webhook, tenant string) bool {
	if w.Global || tenant == "" {
		return false
	}
	if w.Owner != "" {
		return w.Owner == tenant
	}
	return len(w.TenantIDs) == 1 && w.TenantIDs[0] == tenant
}

// tenantWebhook returns the webhook if the session's tenant owns it; ENOTFOUND otherwise,
// the same answer as for a webhook that does not exist.
func (a *API) tenantWebhook(c echo.Context, id string) (*store.Webhook, error) {
	w, err := a.db.WebhookByID(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	if !ownedBy(w, portalLink(c).Tenant) {
		return nil, store.Errorf(store.ENOTFOUND, "Not found.")
	}
	return w, nil
}

// tenantWebhooks lists the session tenant's webhooks, oldest first.
func (a *API) tenantWebhooks(c echo.Context) ([]store.Webhook, error) {
	tenant := portalLink(c).Tenant
	ctx := c.Request().Context()
	owned, _, err := a.db.FindWebhooks(ctx, store.WebhookFilter{Owner: &tenant, Limit: maxTenantWebhooks})
	if err != nil {
		return nil, err
	}
	listed, _, err := a.db.FindWebhooks(ctx, store.WebhookFilter{TenantID: tenant, Limit: maxTenantWebhooks})
	if err != nil {
		return nil, err
	}
	var out []store.Webhook
	seen := map[string]bool{}
	for _, w := range append(owned, listed...) {
		if ownedBy(&w, tenant) && !seen[w.ID] {
			seen[w.ID] = true
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(x, y store.Webhook) int { return x.CreatedAt.Compare(y.CreatedAt) })
	return out, nil
}

func (a *API) portalWebhooks(c echo.Context) error {
	ws, err := a.tenantWebhooks(c)
	if err != nil {
		return err
	}
	out := make([]api.Webhook, 0, len(ws))
	for i := range ws {
		out = append(out, webhookWire(&ws[i]))
	}
	if err := (handlers{a}).circuits(c.Request().Context(), out); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"total": len(out), "webhooks": out})
}

// portalCreateWebhook makes a native subscription for the session's tenant; a tenant in
// the body is ignored.
func (a *API) portalCreateWebhook(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req api.NewWebhook
	if err := json.Unmarshal(body, &req); err != nil {
		return store.Errorf(store.EINVALID, "The body must be a JSON object: {\"url\", \"events\": [canonical names], \"description\"?, \"headers\"?}.")
	}
	tenant := portalLink(c).Tenant
	req.Tenant = &tenant
	return handlers{a}.createWebhook(c, req)
}

// portalDeliveries lists the deliveries to the tenant's webhooks, with /v1's filters.
func (a *API) portalDeliveries(c echo.Context) error {
	p, err := deliveriesQuery(c)
	if err != nil {
		return err
	}
	ws, err := a.tenantWebhooks(c)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(ws))
	for _, w := range ws {
		ids = append(ids, w.ID)
	}
	f, err := deliveryFilter(p)
	if err != nil {
		return err
	}
	return handlers{a}.deliveryPage(c, store.DeliveryPage{DeliveryFilter: f, WebhookIDs: ids, EventType: deref(p.EventType), After: deref(p.Cursor)})
}

// deliveriesQuery reads /v1/deliveries' query parameters, as the generated wrapper does
// for /v1 (Echo's binder knows nothing of their form tags).
func deliveriesQuery(c echo.Context) (api.ListDeliveriesParams, error) {
	var p api.ListDeliveriesParams
	str := func(name string) *string {
		if v := c.QueryParam(name); v != "" {
			return &v
		}
		return nil
	}
	num := func(name string, out **int) error {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return store.Errorf(store.EINVALID, "%s must be a whole number.", name)
			}
			*out = &n
		}
		return nil
	}
	tm := func(name string, out **time.Time) error {
		if v := c.QueryParam(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return store.Errorf(store.EINVALID, "%s must be an RFC 3339 time.", name)
			}
			*out = &t
		}
		return nil
	}
	p.EventId, p.WebhookId, p.EventType, p.Cursor = str("eventId"), str("webhookId"), str("eventType"), str("cursor")
	if s := str("status"); s != nil {
		st := api.ListDeliveriesParamsStatus(*s)
		p.Status = &st
	}
	for _, err := range []error{num("limit", &p.Limit), num("offset", &p.Offset), tm("since", &p.Since), tm("until", &p.Until)} {
		if err != nil {
			return p, err
		}
	}
	return p, nil
}
