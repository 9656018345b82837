package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	authingclient "github.com/polyhook/polyhook/client/authing"
	faclient "github.com/polyhook/polyhook/client/fusionauth"
	nursaclient "github.com/polyhook/polyhook/client/nursa"
	xsollaclient "github.com/polyhook/polyhook/client/xsolla"
)

// importCmd copies a vendor's webhooks into the gateway: it lists them through the
// generated client of the vendor's API (client/<dialect>) at --from, compares them with
// the gateway's webhooks of that dialect (the native API, --url and --token), and creates
// or updates the missing and changed ones through the gateway's API of the same dialect,
// keeping the vendor's ids where that API lets the caller choose them (FusionAuth).
type importCmd struct {
	Dialect string `arg:"" enum:"fusionauth,xsolla,nursa,authing" help:"The vendor: fusionauth, xsolla, nursa or authing."`
	From    string `name:"from" required:"" help:"The vendor's API base URL (e.g. https://auth.example.com, https://login.xsolla.com, https://api.authing.cn)."`
	Apply   bool   `name:"apply" help:"Make the changes; without it, only show what would be done."`

	APIKey      string   `name:"api-key" env:"IMPORT_FUSIONAUTH_API_KEY" secret:"" help:"fusionauth: the vendor's API key."`
	ServerJWT   string   `name:"server-jwt" env:"IMPORT_XSOLLA_SERVER_JWT" secret:"" help:"xsolla: the vendor's server JWT (X-SERVER-AUTHORIZATION)."`
	Projects    []string `name:"project" help:"xsolla: a Login project id whose webhooks to import (repeat for several)."`
	AccessToken string   `name:"access-token" env:"IMPORT_ACCESS_TOKEN" secret:"" help:"nursa: the bearer token; authing: the management token."`
	UserPoolID  string   `name:"user-pool-id" help:"authing: the vendor's user pool id."`

	GatewayKey    string `name:"gateway-key" env:"IMPORT_GATEWAY_KEY" secret:"" help:"fusionauth: the gateway's API key to write with (minted with --apply when absent)."`
	GatewayID     string `name:"gateway-id" help:"xsolla, nursa: client id; authing: access key id of the gateway's credential (minted with --apply when absent)."`
	GatewaySecret string `name:"gateway-secret" env:"IMPORT_GATEWAY_SECRET" secret:"" help:"The secret of --gateway-id."`
}

// imported is one vendor webhook as the import sees it.
type imported struct {
	// id is the vendor's id, kept by the gateway when keep is set.
	id   string
	keep bool
	url  string
	// events are the webhook's events in the dialect's names.
	events []string
	// owner is the project (xsolla) the webhook belongs to.
	owner string
	// global, tenantIDs and description are FusionAuth's scope and description.
	global      bool
	tenantIDs   []string
	description string
	// body is what creates it through the dialect's API.
	body any
	// notes say what the vendor does not return and how to set it in the gateway.
	notes []string
}

// gatewayHook is a webhook of the gateway, as the native API lists it.
type gatewayHook struct {
	ID, ExternalID, URL string
	Description         string
	Events              []string
	Scope               struct {
		Global    bool
		TenantIDs []string `json:"tenantIds"`
		Owner     string
	}
}

// plan is what the import does with one vendor webhook.
type plan struct {
	action string // create, update, leave
	why    string
	hook   imported
	// existing is the gateway's matching webhook, for update and leave.
	existing *gatewayHook
}

func (c *importCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(g.ctx, 5*time.Minute)
	defer cancel()
	hooks, err := c.list(ctx)
	if err != nil {
		return fmt.Errorf("list the vendor's webhooks at %s: %w", c.From, err)
	}
	var existing struct{ Webhooks []gatewayHook }
	if _, err := a.get(ctx, "/v1/webhooks", url.Values{"dialect": {c.Dialect}, "limit": {"1000"}}, &existing); err != nil {
		return err
	}
	plans := make([]plan, 0, len(hooks))
	for _, h := range hooks {
		plans = append(plans, c.compare(h, existing.Webhooks))
	}
	rows := make([][]string, len(plans))
	changes := 0
	for i, p := range plans {
		id := p.hook.id
		if id == "" {
			id = "-"
		}
		rows[i] = []string{p.action, id, p.hook.url, strings.Join(p.hook.events, ","), p.why}
		if p.action != "leave" {
			changes++
		}
	}
	if err := table(g.stdout, "ACTION\tVENDOR ID\tURL\tEVENTS\tWHY", rows); err != nil {
		return err
	}
	for _, p := range plans {
		for _, n := range p.hook.notes {
			fmt.Fprintf(g.stdout, "note: %s: %s\n", p.hook.url, n)
		}
	}
	if !c.Apply {
		fmt.Fprintf(g.stdout, "%d of %d webhooks would change; run again with --apply to make the changes.\n", changes, len(plans))
		return nil
	}
	if changes == 0 {
		fmt.Fprintln(g.stdout, "Nothing to change.")
		return nil
	}
	w, err := c.writer(ctx, a, g, plans)
	if err != nil {
		return err
	}
	for _, p := range plans {
		if p.action == "leave" {
			continue
		}
		if err := w(ctx, p); err != nil {
			return fmt.Errorf("%s %s: %w", p.action, p.hook.url, err)
		}
	}
	fmt.Fprintf(g.stdout, "%d webhooks changed.\n", changes)
	return nil
}

// compare decides what to do with h given the gateway's webhooks of the dialect.
func (c *importCmd) compare(h imported, existing []gatewayHook) plan {
	for i := range existing {
		e := &existing[i]
		switch {
		case h.keep && e.ExternalID == h.id:
		case !h.keep && c.Dialect == "xsolla" && e.URL == h.url && e.Scope.Owner == h.owner && slices.Equal(e.Events, h.events):
		case !h.keep && c.Dialect != "xsolla" && e.URL == h.url:
		default:
			continue
		}
		var diff []string
		if e.URL != h.url {
			diff = append(diff, "url")
		}
		if !sameSet(e.Events, h.events) {
			diff = append(diff, "events")
		}
		if c.Dialect == "fusionauth" {
			if e.Scope.Global != h.global || !sameSet(e.Scope.TenantIDs, h.tenantIDs) {
				diff = append(diff, "scope")
			}
			if e.Description != h.description {
				diff = append(diff, "description")
			}
		}
		if len(diff) == 0 {
			return plan{action: "leave", why: "already in the gateway (" + e.ID + ")", hook: h, existing: e}
		}
		return plan{action: "update", why: strings.Join(diff, ", ") + " differ", hook: h, existing: e}
	}
	why := "not in the gateway"
	if h.keep {
		why += "; created with the vendor's id"
	}
	return plan{action: "create", why: why, hook: h}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// vendorHTTP is the client the vendor's API is called with.
var vendorHTTP = &http.Client{Timeout: time.Minute}

// list reads the vendor's webhooks through the dialect's generated client.
func (c *importCmd) list(ctx context.Context) ([]imported, error) {
	from := strings.TrimSuffix(c.From, "/")
	switch c.Dialect {
	case "fusionauth":
		if c.APIKey == "" {
			return nil, usageError{errors.New("fusionauth needs --api-key")}
		}
		cl, err := faclient.New(from, c.APIKey, faclient.WithHTTPClient(vendorHTTP))
		if err != nil {
			return nil, err
		}
		resp, err := cl.RetrieveWebhooksWithResponse(ctx)
		if err != nil {
			return nil, err
		}
		if resp.JSON200 == nil {
			return nil, fmt.Errorf("the vendor answered %d", resp.StatusCode())
		}
		out := make([]imported, 0, len(resp.JSON200.Webhooks))
		for _, w := range resp.JSON200.Webhooks {
			out = append(out, fusionAuthHook(w))
		}
		return out, nil
	case "xsolla":
		if c.ServerJWT == "" || len(c.Projects) == 0 {
			return nil, usageError{errors.New("xsolla needs --server-jwt and at least one --project")}
		}
		cl, err := xsollaclient.New(from, c.ServerJWT, xsollaclient.WithHTTPClient(vendorHTTP))
		if err != nil {
			return nil, err
		}
		var out []imported
		for _, p := range c.Projects {
			for _, ev := range xsollaEvents {
				resp, err := cl.GetWebhooksForEventWithResponse(ctx, p, ev)
				if err != nil {
					return nil, err
				}
				if resp.JSON200 == nil {
					return nil, fmt.Errorf("project %s, %s: the vendor answered %d", p, ev, resp.StatusCode())
				}
				for _, w := range *resp.JSON200 {
					out = append(out, imported{id: strconv.FormatInt(w.Id, 10), url: w.Url, events: []string{ev}, owner: p,
						body: xsollaclient.AddWebhookForEventJSONRequestBody{Url: w.Url}})
				}
			}
		}
		return out, nil
	case "nursa":
		if c.AccessToken == "" {
			return nil, usageError{errors.New("nursa needs --access-token")}
		}
		cl, err := nursaclient.New(from, c.AccessToken, nursaclient.WithHTTPClient(vendorHTTP))
		if err != nil {
			return nil, err
		}
		resp, err := cl.GetAllUserWebhooksWithResponse(ctx)
		if err != nil {
			return nil, err
		}
		if resp.JSON200 == nil {
			return nil, fmt.Errorf("the vendor answered %d", resp.StatusCode())
		}
		out := make([]imported, 0, len(resp.JSON200.Data))
		for _, w := range resp.JSON200.Data {
			events := make([]string, len(w.Events))
			for i, e := range w.Events {
				events[i] = string(e)
			}
			secrets := slices.Clone(w.Secrets)
			out = append(out, imported{id: w.Id.String(), url: w.Url, events: events,
				body: nursaclient.CreateUserWebhookJSONRequestBody{Url: w.Url, Events: w.Events, Secrets: &secrets}})
		}
		return out, nil
	case "authing":
		if c.AccessToken == "" || c.UserPoolID == "" {
			return nil, usageError{errors.New("authing needs --access-token (a management token) and --user-pool-id")}
		}
		token := c.AccessToken
		if !strings.HasPrefix(token, "Bearer ") {
			token = "Bearer " + token
		}
		cl, err := authingclient.New(from, c.UserPoolID, token, authingclient.WithHTTPClient(vendorHTTP))
		if err != nil {
			return nil, err
		}
		var out []imported
		for page := 1; ; page++ {
			p, limit := strconv.Itoa(page), "50"
			resp, err := cl.ListWebhooksWithResponse(ctx, &authingclient.ListWebhooksParams{Page: &p, Limit: &limit})
			if err != nil {
				return nil, err
			}
			if resp.JSON200 == nil || resp.JSON200.StatusCode != 200 || resp.JSON200.Data == nil {
				return nil, fmt.Errorf("the vendor answered %d: %.200s", resp.StatusCode(), resp.Body)
			}
			for _, w := range resp.JSON200.Data.List {
				out = append(out, authingHook(w))
			}
			if len(resp.JSON200.Data.List) == 0 || len(out) >= resp.JSON200.Data.TotalCount || page >= 200 {
				return out, nil
			}
		}
	}
	return nil, usageError{fmt.Errorf("unknown dialect %q", c.Dialect)}
}

// xsollaEvents are Xsolla Login's webhook events: its API lists webhooks per event.
var xsollaEvents = []string{"registration", "authorization", "email_confirmation", "link_social_account", "new_verified_user"}

func fusionAuthHook(w faclient.Webhook) imported {
	h := imported{keep: true}
	if w.Id != nil {
		h.id = w.Id.String()
	}
	if w.Url != nil {
		h.url = *w.Url
	}
	if w.EventsEnabled != nil {
		for k, on := range *w.EventsEnabled {
			if on {
				h.events = append(h.events, k)
			}
		}
		slices.Sort(h.events)
	}
	if w.Global != nil {
		h.global = *w.Global
	}
	if w.TenantIds != nil {
		for _, t := range *w.TenantIds {
			h.tenantIDs = append(h.tenantIDs, t.String())
		}
	}
	if w.Description != nil {
		h.description = *w.Description
	}
	// Keys live in the vendor's Key Master, which the gateway does not share.
	if w.SignatureConfiguration != nil && w.SignatureConfiguration.Enabled != nil && *w.SignatureConfiguration.Enabled {
		keyID := ""
		if w.SignatureConfiguration.SigningKeyId != nil {
			keyID = w.SignatureConfiguration.SigningKeyId.String()
		}
		h.notes = append(h.notes, "signed with FusionAuth key "+keyID+", which stays in FusionAuth: create a key in the gateway "+
			"(POST /v1/keys), then set signatureConfiguration.signingKeyId (PATCH /api/webhook/"+h.id+") and give receivers its secret or public key")
		w.SignatureConfiguration = nil
	}
	if w.SslCertificateKeyId != nil {
		h.notes = append(h.notes, "its client certificate key "+w.SslCertificateKeyId.String()+" stays in FusionAuth: set sslCertificate instead")
		w.SslCertificateKeyId = nil
	}
	if w.HttpAuthenticationUsername != nil && *w.HttpAuthenticationUsername != "" && (w.HttpAuthenticationPassword == nil || *w.HttpAuthenticationPassword == "") {
		h.notes = append(h.notes, "the vendor did not return its Basic auth password: set httpAuthenticationPassword (PATCH /api/webhook/"+h.id+")")
	}
	w.Id, w.InsertInstant, w.LastUpdateInstant = nil, nil, nil
	h.body = faclient.WebhookRequest{Webhook: &w}
	return h
}

func authingHook(w authingclient.WebhookDto) imported {
	h := imported{id: w.WebhookId, url: w.Url}
	if w.Events != nil {
		h.events = *w.Events
	}
	enabled := w.Enabled
	body := authingclient.CreateWebhookJSONRequestBody{ContentType: w.ContentType, Enabled: &enabled, Events: h.events, Name: w.Name, RetryConfig: w.RetryConfig, Url: w.Url, Secret: w.Secret}
	if w.Secret == nil || *w.Secret == "" {
		h.notes = append(h.notes, "the vendor did not return its secret: set it with update-webhook {\"webhookId\", \"secret\"} on the gateway, "+
			"or rotate it at the receiver to the one the gateway holds")
	}
	h.body = body
	return h
}

// writer returns what writes plans through the gateway's API of the dialect, with the
// given credential or, when none is, one it mints (and prints once).
func (c *importCmd) writer(ctx context.Context, a *api, g *globals, plans []plan) (func(context.Context, plan) error, error) {
	base := a.base
	mint := func(extra map[string]any) (map[string]any, error) {
		body := map[string]any{"dialect": c.Dialect, "name": "import from " + c.From}
		for k, v := range extra {
			body[k] = v
		}
		b, _, err := a.call(ctx, http.MethodPost, "/v1/credentials", nil, body, http.StatusCreated)
		if err != nil {
			return nil, err
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, err
		}
		fmt.Fprintf(g.stdout, "Minted a credential of the %s dialect for the import; pass it to the next run (--gateway-*) to write with it:", c.Dialect)
		for _, k := range []string{"apiKey", "clientId", "clientSecret", "userPoolId", "accessKeyId", "accessKeySecret"} {
			if v, ok := out[k].(string); ok {
				fmt.Fprintf(g.stdout, " %s=%s", k, v)
			}
		}
		fmt.Fprintln(g.stdout)
		return out, nil
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	gwHTTP := &http.Client{Timeout: time.Minute}
	switch c.Dialect {
	case "fusionauth":
		key := c.GatewayKey
		if key == "" {
			m, err := mint(nil)
			if err != nil {
				return nil, err
			}
			key = str(m, "apiKey")
		}
		cl, err := faclient.New(base, key, faclient.WithHTTPClient(gwHTTP))
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, p plan) error {
			body := p.hook.body.(faclient.WebhookRequest)
			if p.action == "create" {
				resp, err := cl.CreateWebhookWithIdWithResponse(ctx, p.hook.id, body)
				return answered(resp, err, http.StatusOK)
			}
			resp, err := cl.UpdateWebhookWithResponse(ctx, p.existing.ExternalID, body)
			return answered(resp, err, http.StatusOK)
		}, nil
	case "xsolla":
		id, secret := c.GatewayID, c.GatewaySecret
		if id == "" {
			var projects []string
			for _, p := range plans {
				if !slices.Contains(projects, p.hook.owner) {
					projects = append(projects, p.hook.owner)
				}
			}
			m, err := mint(map[string]any{"projectIds": projects})
			if err != nil {
				return nil, err
			}
			id, secret = str(m, "clientId"), str(m, "clientSecret")
		}
		anon, err := xsollaclient.NewClientWithResponses(base, xsollaclient.WithHTTPClient(gwHTTP))
		if err != nil {
			return nil, err
		}
		grant := xsollaclient.ClientCredentials
		tok, err := anon.GenerateJWTWithFormdataBodyWithResponse(ctx, xsollaclient.GenerateJWTFormdataRequestBody{GrantType: &grant, ClientId: &id, ClientSecret: &secret})
		if err != nil {
			return nil, err
		}
		if tok.JSON200 == nil {
			return nil, fmt.Errorf("the gateway refused the xsolla credential: %d %.200s", tok.StatusCode(), tok.Body)
		}
		cl, err := xsollaclient.New(base, tok.JSON200.AccessToken, xsollaclient.WithHTTPClient(gwHTTP))
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, p plan) error {
			resp, err := cl.AddWebhookForEventWithResponse(ctx, p.hook.owner, p.hook.events[0], p.hook.body.(xsollaclient.AddWebhookForEventJSONRequestBody))
			return answered(resp, err, http.StatusOK)
		}, nil
	case "nursa":
		id, secret := c.GatewayID, c.GatewaySecret
		if id == "" {
			m, err := mint(nil)
			if err != nil {
				return nil, err
			}
			id, secret = str(m, "clientId"), str(m, "clientSecret")
		}
		anon, err := nursaclient.NewClientWithResponses(base, nursaclient.WithHTTPClient(gwHTTP))
		if err != nil {
			return nil, err
		}
		grant := nursaclient.TokenRequestGrantType("client_credentials")
		tok, err := anon.IssueTokenWithFormdataBodyWithResponse(ctx, nursaclient.IssueTokenFormdataRequestBody{GrantType: &grant, ClientId: &id, ClientSecret: &secret})
		if err != nil {
			return nil, err
		}
		if tok.JSON200 == nil {
			return nil, fmt.Errorf("the gateway refused the nursa credential: %d %.200s", tok.StatusCode(), tok.Body)
		}
		access := tok.JSON200.AccessToken
		cl, err := nursaclient.New(base, access, nursaclient.WithHTTPClient(gwHTTP))
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, p plan) error {
			body := p.hook.body.(nursaclient.CreateUserWebhookJSONRequestBody)
			if p.action == "create" {
				resp, err := cl.CreateUserWebhookWithResponse(ctx, body)
				return answered(resp, err, http.StatusCreated)
			}
			resp, err := cl.UpdateUserWebhookWithResponse(ctx, p.existing.ExternalID, nursaclient.UpdateUserWebhookJSONRequestBody{Url: &body.Url, Events: body.Events, Secrets: body.Secrets})
			return answered(resp, err, http.StatusOK, http.StatusCreated)
		}, nil
	case "authing":
		id, secret := c.GatewayID, c.GatewaySecret
		if id == "" {
			m, err := mint(nil)
			if err != nil {
				return nil, err
			}
			id, secret = str(m, "accessKeyId"), str(m, "accessKeySecret")
		}
		anon, err := authingclient.NewClientWithResponses(base, authingclient.WithHTTPClient(gwHTTP))
		if err != nil {
			return nil, err
		}
		tok, err := anon.GetManagementTokenWithResponse(ctx, authingclient.GetManagementTokenJSONRequestBody{AccessKeyId: id, AccessKeySecret: secret})
		if err != nil {
			return nil, err
		}
		var t struct {
			StatusCode int
			Data       struct {
				AccessToken string `json:"access_token"`
			}
		}
		if json.Unmarshal(tok.Body, &t) != nil || t.StatusCode != 200 || t.Data.AccessToken == "" {
			return nil, fmt.Errorf("the gateway refused the authing credential: %.200s", tok.Body)
		}
		m, err := mintedPool(ctx, a, id)
		if err != nil {
			return nil, err
		}
		cl, err := authingclient.New(base, m, "Bearer "+t.Data.AccessToken, authingclient.WithHTTPClient(gwHTTP))
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, p plan) error {
			body := p.hook.body.(authingclient.CreateWebhookJSONRequestBody)
			if p.action == "create" {
				resp, err := cl.CreateWebhookWithResponse(ctx, body)
				return authingAnswered(resp, err)
			}
			ct := body.ContentType
			resp, err := cl.UpdateWebhookWithResponse(ctx, authingclient.UpdateWebhookJSONRequestBody{WebhookId: p.existing.ExternalID, Url: &body.Url,
				Events: &body.Events, Name: &body.Name, Enabled: body.Enabled, ContentType: &ct, Secret: body.Secret, RetryConfig: body.RetryConfig})
			return authingAnswered(resp, err)
		}, nil
	}
	return nil, usageError{fmt.Errorf("unknown dialect %q", c.Dialect)}
}

// mintedPool is the user pool of the gateway's authing credential with access key id.
func mintedPool(ctx context.Context, a *api, id string) (string, error) {
	var out struct {
		Credentials []struct {
			ID         string
			UserPoolID string `json:"userPoolId"`
		}
	}
	if _, err := a.get(ctx, "/v1/credentials", url.Values{"dialect": {"authing"}}, &out); err != nil {
		return "", err
	}
	for _, c := range out.Credentials {
		if c.ID == id && c.UserPoolID != "" {
			return c.UserPoolID, nil
		}
	}
	return "", fmt.Errorf("no authing credential %s in the gateway", id)
}

// response is what every generated response has.
type response interface{ StatusCode() int }

// answered turns a generated client's answer into an error unless its status is wanted.
func answered(resp response, err error, want ...int) error {
	if err != nil {
		return err
	}
	if !slices.Contains(want, resp.StatusCode()) {
		body := ""
		if b, ok := resp.(interface{ GetBody() []byte }); ok {
			body = string(b.GetBody())
		}
		return fmt.Errorf("the gateway answered %d %.300s", resp.StatusCode(), body)
	}
	return nil
}

// authingAnswered is answered for Authing, whose status is in the body.
func authingAnswered(resp interface {
	StatusCode() int
}, err error) error {
	if err != nil {
		return err
	}
	var body []byte
	switch r := resp.(type) {
	case *authingclient.CreateWebhookResponse:
		body = r.Body
	case *authingclient.UpdateWebhookResponse:
		body = r.Body
	}
	var e struct {
		StatusCode int
		Message    string
	}
	if json.Unmarshal(body, &e) != nil || e.StatusCode != 200 {
		return fmt.Errorf("the gateway answered %d %.300s", resp.StatusCode(), body)
	}
	return nil
}
