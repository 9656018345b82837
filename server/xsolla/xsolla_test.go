package xsolla_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	api "github.com/polyhook/polyhook/gen/xsollaapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/server/xsolla"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

const (
	projectA = "a1b2c3d4-0000-4000-8000-00000000000a"
	projectB = "b1b2c3d4-0000-4000-8000-00000000000b"
)

type gateway struct {
	url      string
	db       *store.DB
	keys     *server.Keys
	dialect  *xsolla.Dialect
	contract *servertest.Contract
}

// start serves the Xsolla dialect on a fresh store; opts may change its dependencies.
func start(t *testing.T, limiter *server.Limiter, opts ...func(*server.Deps)) *gateway {
	t.Helper()
	db := storetest.Open(t)
	keys, _ := server.NewKeys("xsolla-test-master-key")
	deps := server.Deps{DB: db, Keys: keys, Log: servertest.Logger(t), Limiter: limiter}
	for _, o := range opts {
		o(&deps)
	}
	d := xsolla.New(deps)
	u, _ := servertest.Start(t, d)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	return &gateway{url: u, db: db, keys: keys, dialect: d, contract: servertest.NewContract(t, spec, u)}
}

func (g *gateway) credential(t *testing.T, projects ...string) *server.MintedCredential {
	t.Helper()
	m, err := g.dialect.MintCredential(context.Background(), projectsRequest(projects))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (g *gateway) token(t *testing.T, m *server.MintedCredential) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {m.Field("clientId")}, "client_secret": {m.Field("clientSecret")}}
	resp, b := g.contract.Do(t, servertest.Request(t, "POST", g.url+"/api/oauth2/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"))
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(b, &tr); resp.StatusCode != 200 || err != nil || tr.TokenType != "bearer" || tr.ExpiresIn != 3600 {
		t.Fatalf("token: %d %s", resp.StatusCode, b)
	}
	return tr.AccessToken
}

func (g *gateway) do(t *testing.T, auth, method, path, body string) (int, []byte) {
	t.Helper()
	var hdr []string
	if auth != "" {
		hdr = []string{"X-SERVER-AUTHORIZATION", auth}
	}
	resp, b := g.contract.Do(t, servertest.Request(t, method, g.url+path, body, hdr...))
	return resp.StatusCode, b
}

func code(t *testing.T, b []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Description string }
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Description == "" {
		t.Fatalf("not Xsolla's error envelope: %s", b)
	}
	return e.Error.Code
}

func hooks(p, event string) string { return "/api/projects/" + p + "/events/" + event + "/webhooks" }

func TestContract(t *testing.T) {
	g := start(t, server.NewLimiter(1000, 1000))
	m := g.credential(t, projectA)
	tok := g.token(t, m)

	// Token endpoint errors.
	for _, tc := range []struct {
		form   url.Values
		status int
		code   string
	}{
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {m.Field("clientId")}}, 422, "002-028"},
		{url.Values{"grant_type": {"password"}, "client_id": {m.Field("clientId")}, "client_secret": {"x"}}, 422, "002-027"},
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {m.Field("clientId")}, "client_secret": {"wrong"}}, 401, "003-040"},
	} {
		resp, b := g.contract.Do(t, servertest.Request(t, "POST", g.url+"/api/oauth2/token", tc.form.Encode(), "Content-Type", "application/x-www-form-urlencoded"))
		if resp.StatusCode != tc.status || code(t, b) != tc.code {
			t.Errorf("token %v: %d %s", tc.form, resp.StatusCode, b)
		}
	}

	// Add, with "Bearer " and without.
	status, b := g.do(t, tok, "POST", hooks(projectA, "registration"), `{"url":"https://example.com/reg"}`)
	var w api.Webhook
	if err := json.Unmarshal(b, &w); status != 200 || err != nil || w.Id <= 0 || w.Url != "https://example.com/reg" {
		t.Fatalf("add: %d %s", status, b)
	}
	if status, b = g.do(t, "Bearer "+tok, "POST", hooks(projectA, "authorization"), `{"url":"http://example.com/auth"}`); status != 200 {
		t.Errorf("add with Bearer: %d %s", status, b)
	}
	for _, tc := range []struct {
		path, body string
		status     int
		code       string
	}{
		{hooks(projectA, "registration"), `{}`, 422, "002-028"},
		{hooks(projectA, "registration"), `{"url":"ftp://example.com"}`, 422, "002-027"},
		{hooks(projectA, "registration"), `{"url":"https://example.com/` + strings.Repeat("a", 500) + `"}`, 422, "002-027"},
		{hooks(projectA, "registration"), `{"url":7}`, 422, "002-027"},
		{hooks(projectA, "registration"), `nope`, 422, "002-027"},
		{hooks(projectA, "purchase"), `{"url":"https://example.com"}`, 422, "002-027"},
		{hooks(projectB, "registration"), `{"url":"https://example.com"}`, 404, "003-019"},
		{hooks("not-a-uuid", "registration"), `{"url":"https://example.com"}`, 404, "003-019"},
	} {
		if status, b = g.do(t, tok, "POST", tc.path, tc.body); status != tc.status || code(t, b) != tc.code {
			t.Errorf("add %s %s: %d %s, want %d %s", tc.path, tc.body, status, b, tc.status, tc.code)
		}
	}
	if status, b = g.do(t, "", "POST", hooks(projectA, "registration"), `{"url":"https://example.com"}`); status != 401 || code(t, b) != "003-040" {
		t.Errorf("add without a token: %d %s", status, b)
	}
	other, _ := g.keys.IssueToken("nursa", m.Field("clientId"), time.Hour, nil)
	if status, b = g.do(t, other, "POST", hooks(projectA, "registration"), `{"url":"https://example.com"}`); status != 401 || code(t, b) != "002-016" {
		t.Errorf("add with another dialect's token: %d %s", status, b)
	}

	// Get: only that event type's webhooks.
	status, b = g.do(t, tok, "GET", hooks(projectA, "registration"), "")
	var list []api.Webhook
	if err := json.Unmarshal(b, &list); status != 200 || err != nil || len(list) != 1 || list[0].Id != w.Id {
		t.Errorf("get: %d %s", status, b)
	}
	if status, b = g.do(t, tok, "GET", hooks(projectA, "new_verified_user"), ""); status != 200 || strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("get an empty event type: %d %s", status, b)
	}
	if status, b = g.do(t, tok, "GET", hooks(projectB, "registration"), ""); status != 404 || code(t, b) != "003-019" {
		t.Errorf("get another project: %d %s", status, b)
	}
	if status, b = g.do(t, tok, "GET", hooks(projectA, "nope"), ""); status != 422 {
		t.Errorf("get a bad event type: %d %s", status, b)
	}
	if status, _ = g.do(t, "x.y.z", "GET", hooks(projectA, "registration"), ""); status != 401 {
		t.Errorf("get with a bad token: %d", status)
	}

	// Delete.
	id := func(n int64) string { b, _ := json.Marshal(n); return string(b) }
	if status, b = g.do(t, tok, "DELETE", hooks(projectA, "authorization")+"/"+id(w.Id), ""); status != 404 || code(t, b) != "003-061" {
		t.Errorf("delete under another event type: %d %s", status, b)
	}
	if status, b = g.do(t, tok, "DELETE", hooks(projectA, "registration")+"/abc", ""); status != 404 || code(t, b) != "003-061" {
		t.Errorf("delete a non-integer id: %d %s", status, b)
	}
	if status, _ = g.do(t, tok, "DELETE", hooks(projectA, "bogus")+"/"+id(w.Id), ""); status != 422 {
		t.Errorf("delete with a bad event type: %d", status)
	}
	if status, _ = g.do(t, "", "DELETE", hooks(projectA, "registration")+"/"+id(w.Id), ""); status != 401 {
		t.Errorf("delete without a token: %d", status)
	}
	if status, b = g.do(t, tok, "DELETE", hooks(projectA, "registration")+"/"+id(w.Id), ""); status != 204 || len(b) != 0 {
		t.Errorf("delete: %d %q", status, b)
	}
	if status, _ = g.do(t, tok, "DELETE", hooks(projectA, "registration")+"/"+id(w.Id), ""); status != 404 {
		t.Errorf("delete again: %d", status)
	}

	// The token answer's refresh_token gives a new pair, to its own client only, and is
	// never a server JWT itself.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {m.Field("clientId")}, "client_secret": {m.Field("clientSecret")}}
	resp, b := g.contract.Do(t, servertest.Request(t, "POST", g.url+"/api/oauth2/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"))
	var pair struct{ AccessToken, RefreshToken string }
	if err := json.Unmarshal(b, &struct {
		A *string `json:"access_token"`
		R *string `json:"refresh_token"`
	}{&pair.AccessToken, &pair.RefreshToken}); resp.StatusCode != 200 || err != nil || pair.RefreshToken == "" {
		t.Fatalf("token without refresh_token: %d %s", resp.StatusCode, b)
	}
	if status, b = g.do(t, pair.RefreshToken, "GET", hooks(projectA, "registration"), ""); status != 401 || code(t, b) != "002-016" {
		t.Errorf("refresh_token taken as a server JWT: %d %s", status, b)
	}
	second := g.credential(t, projectA)
	for _, tc := range []struct {
		form   url.Values
		status int
		code   string
	}{
		{url.Values{"grant_type": {"refresh_token"}, "client_id": {m.Field("clientId")}, "client_secret": {m.Field("clientSecret")}}, 422, "002-028"},
		{url.Values{"grant_type": {"refresh_token"}, "client_id": {m.Field("clientId")}, "client_secret": {m.Field("clientSecret")}, "refresh_token": {pair.AccessToken}}, 401, "002-016"},
		{url.Values{"grant_type": {"refresh_token"}, "client_id": {second.Field("clientId")}, "client_secret": {second.Field("clientSecret")}, "refresh_token": {pair.RefreshToken}}, 401, "002-016"},
	} {
		resp, b := g.contract.Do(t, servertest.Request(t, "POST", g.url+"/api/oauth2/token", tc.form.Encode(), "Content-Type", "application/x-www-form-urlencoded"))
		if resp.StatusCode != tc.status || code(t, b) != tc.code {
			t.Errorf("refresh %v: %d %s, want %d %s", tc.form, resp.StatusCode, b, tc.status, tc.code)
		}
	}
	form = url.Values{"grant_type": {"refresh_token"}, "client_id": {m.Field("clientId")}, "client_secret": {m.Field("clientSecret")}, "refresh_token": {pair.RefreshToken}}
	resp, b = g.contract.Do(t, servertest.Request(t, "POST", g.url+"/api/oauth2/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"))
	var renewed struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &renewed); resp.StatusCode != 200 || err != nil {
		t.Fatalf("refresh: %d %s", resp.StatusCode, b)
	}
	if status, b = g.do(t, renewed.AccessToken, "GET", hooks(projectA, "registration"), ""); status != 200 {
		t.Errorf("refreshed token: %d %s", status, b)
	}

	// Rate limiting: 429 with Retry-After, in the envelope.
	limited := start(t, server.NewLimiter(0.001, 1))
	lm := limited.credential(t, projectA)
	ltok := limited.token(t, lm) // spends the one request of the burst
	for _, op := range []struct{ method, path, body string }{
		{"GET", hooks(projectA, "registration"), ""}, {"POST", hooks(projectA, "registration"), `{"url":"https://x.example"}`},
		{"DELETE", hooks(projectA, "registration") + "/1", ""},
	} {
		resp, b := limited.contract.Do(t, servertest.Request(t, op.method, limited.url+op.path, op.body, "X-SERVER-AUTHORIZATION", ltok))
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || code(t, b) != "003-429" {
			t.Errorf("%s over the limit: %d %s", op.method, resp.StatusCode, b)
		}
	}
	form = url.Values{"grant_type": {"client_credentials"}, "client_id": {lm.Field("clientId")}, "client_secret": {lm.Field("clientSecret")}}
	if resp, _ := limited.contract.Do(t, servertest.Request(t, "POST", limited.url+"/api/oauth2/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")); resp.StatusCode != 429 {
		t.Errorf("token over the limit: %d", resp.StatusCode)
	}
	g.contract.Absorb(limited.contract)
	g.contract.Absorb(dialecttest.Run(t, conformance()))
	g.contract.RequireAllExercised(t)
}

func TestIsolation(t *testing.T) {
	g := start(t, nil)
	a := g.token(t, g.credential(t, projectA))
	b := g.token(t, g.credential(t, projectB))
	status, body := g.do(t, a, "POST", hooks(projectA, "registration"), `{"url":"https://a.example.com"}`)
	var w api.Webhook
	if status != 200 || json.Unmarshal(body, &w) != nil {
		t.Fatalf("add: %d %s", status, body)
	}
	// Project B's credential: project A does not exist for it.
	if status, body = g.do(t, b, "GET", hooks(projectA, "registration"), ""); status != 404 || code(t, body) != "003-019" {
		t.Errorf("another credential sees project A: %d %s", status, body)
	}
	// Another dialect's webhook in the same project is invisible.
	if err := g.db.CreateWebhook(context.Background(), &store.Webhook{Dialect: "authing", Owner: projectA, ExternalID: "12345", URL: "https://authing.example.com", Events: []string{"registration"}}); err != nil {
		t.Fatal(err)
	}
	if _, body = g.do(t, a, "GET", hooks(projectA, "registration"), ""); strings.Contains(string(body), "authing.example.com") {
		t.Errorf("another dialect's webhook is listed: %s", body)
	}
	if status, _ = g.do(t, a, "DELETE", hooks(projectA, "registration")+"/12345", ""); status != 404 {
		t.Errorf("another dialect's webhook deleted: %d", status)
	}
	// Revoking the credential stops its token.
	creds, _ := g.db.Credentials(context.Background(), xsolla.Name)
	for _, c := range creds {
		_ = g.db.DeleteCredential(context.Background(), c.ID)
	}
	if status, _ = g.do(t, a, "GET", hooks(projectA, "registration"), ""); status != 401 {
		t.Errorf("revoked credential: %d", status)
	}
}

func TestMintNeedsProjects(t *testing.T) {
	g := start(t, nil)
	for _, ps := range [][]string{nil, {"not-a-uuid"}} {
		if _, err := g.dialect.MintCredential(context.Background(), projectsRequest(ps)); store.ErrorCode(err) != store.EINVALID {
			t.Errorf("mint with %v: %v", ps, err)
		}
	}
}

// TestGeneratedClient drives the API through the client generated from the spec.
func TestGeneratedClient(t *testing.T) {
	g := start(t, nil)
	m := g.credential(t, projectA)
	ctx := context.Background()
	c, err := api.NewClientWithResponses(g.url)
	if err != nil {
		t.Fatal(err)
	}
	grant := api.ClientCredentials
	clientID, clientSecret := m.Field("clientId"), m.Field("clientSecret")
	tr, err := c.GenerateJWTWithFormdataBodyWithResponse(ctx, api.GenerateJWTFormdataRequestBody{GrantType: &grant, ClientId: &clientID, ClientSecret: &clientSecret})
	if err != nil || tr.JSON200 == nil {
		t.Fatalf("token: %v %s", err, tr.Body)
	}
	auth := func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-SERVER-AUTHORIZATION", "Bearer "+tr.JSON200.AccessToken)
		return nil
	}
	ar, err := c.AddWebhookForEventWithResponse(ctx, projectA, "email_confirmation", api.AddWebhookForEventJSONRequestBody{Url: "https://example.com/confirm"}, auth)
	if err != nil || ar.JSON200 == nil {
		t.Fatalf("add: %v %s", err, ar.Body)
	}
	gr, err := c.GetWebhooksForEventWithResponse(ctx, projectA, "email_confirmation", auth)
	if err != nil || gr.JSON200 == nil || len(*gr.JSON200) != 1 || (*gr.JSON200)[0].Url != "https://example.com/confirm" {
		t.Fatalf("get: %v %s", err, gr.Body)
	}
	bad, err := c.AddWebhookForEventWithResponse(ctx, projectA, "email_confirmation", api.AddWebhookForEventJSONRequestBody{Url: "nope"}, auth)
	if err != nil || bad.JSON422 == nil || bad.JSON422.Error.Code != "002-027" {
		t.Fatalf("add a bad URL: %v %s", err, bad.Body)
	}
	dr, err := c.DeleteWebhookForEventWithResponse(ctx, projectA, "email_confirmation", strconvI(ar.JSON200.Id), auth)
	if err != nil || dr.StatusCode() != 204 {
		t.Fatalf("delete: %v %d", err, dr.StatusCode())
	}
}

func strconvI(n int64) string { b, _ := json.Marshal(n); return string(b) }

// projectsRequest asks for a credential bound to projects.
func projectsRequest(projects []string) server.CredentialRequest {
	b, _ := json.Marshal(projects)
	return server.CredentialRequest{Fields: map[string]json.RawMessage{"projectIds": b}}
}
