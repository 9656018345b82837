package nursa_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	api "github.com/polyhook/polyhook/gen/nursaapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

type gateway struct {
	url      string
	db       *store.DB
	keys     *server.Keys
	dialect  *nursa.Dialect
	contract *servertest.Contract
}

func start(t *testing.T, limiter *server.Limiter) *gateway {
	return startOn(t, storetest.Open(t), limiter)
}

// startOn serves the Nursa dialect on db; opts may change its dependencies.
func startOn(t *testing.T, db *store.DB, limiter *server.Limiter, opts ...func(*server.Deps)) *gateway {
	t.Helper()
	keys, err := server.NewKeys("nursa-test-master-key")
	if err != nil {
		t.Fatal(err)
	}
	deps := server.Deps{DB: db, Keys: keys, Log: servertest.Logger(t), Limiter: limiter}
	for _, o := range opts {
		o(&deps)
	}
	d := nursa.New(deps)
	u, _ := servertest.Start(t, d)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	return &gateway{url: u, db: db, keys: keys, dialect: d, contract: servertest.NewContract(t, spec, u)}
}

// client mints a credential and exchanges it for a token through the token endpoint.
func (g *gateway) client(t *testing.T) (clientID, token string) {
	t.Helper()
	m, err := g.dialect.MintCredential(context.Background(), server.CredentialRequest{})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {m.Field("clientId")}, "client_secret": {m.Field("clientSecret")}}
	req := servertest.Request(t, "POST", g.url+"/oidc/oauth/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	resp, b := g.contract.Do(t, req)
	var tr api.TokenResponse
	if err := json.Unmarshal(b, &tr); resp.StatusCode != 200 || err != nil || tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 {
		t.Fatalf("token: %d %s", resp.StatusCode, b)
	}
	return m.Field("clientId"), tr.AccessToken
}

func (g *gateway) do(t *testing.T, token, method, path, body string) (int, []byte) {
	t.Helper()
	var hdr []string
	if token != "" {
		hdr = []string{"Authorization", "Bearer " + token}
	}
	resp, b := g.contract.Do(t, servertest.Request(t, method, g.url+path, body, hdr...))
	return resp.StatusCode, b
}

type nestError struct {
	Message    any    `json:"message"`
	Error      string `json:"error"`
	StatusCode int    `json:"statusCode"`
}

func decodeErr(t *testing.T, b []byte) nestError {
	t.Helper()
	var e nestError
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	return e
}

const path = "/api/v2/public/webhooks/user"

func TestContract(t *testing.T) {
	g := start(t, server.NewLimiter(1000, 1000))
	clientID, token := g.client(t)

	// Token endpoint errors.
	for _, tc := range []struct {
		form   url.Values
		status int
		code   string
	}{
		{url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
		{url.Values{}, 400, "invalid_request"},
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {"wrong"}}, 401, "invalid_client"},
	} {
		resp, b := g.contract.Do(t, servertest.Request(t, "POST", g.url+"/oidc/oauth/token", tc.form.Encode(), "Content-Type", "application/x-www-form-urlencoded"))
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.code) {
			t.Errorf("token %v: %d %s", tc.form, resp.StatusCode, b)
		}
	}

	// Create: 201, secrets generated.
	status, b := g.do(t, token, "POST", path, `{"url":"https://example.com/hook","events":["facility.creation.accepted","facility.user-connection.accepted"]}`)
	var created api.WebhookResponse
	if err := json.Unmarshal(b, &created); status != 201 || err != nil {
		t.Fatalf("create: %d %s", status, b)
	}
	w := created.Data
	if w.ClientId != clientID || len(w.Secrets) != 1 || len(w.Secrets[0]) != 32 || w.Url != "https://example.com/hook" || len(w.Events) != 2 {
		t.Errorf("created: %+v", w)
	}
	for _, r := range w.Secrets[0] {
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", r) {
			t.Errorf("generated secret %q is not alphanumeric", w.Secrets[0])
		}
	}
	if status, b = g.do(t, token, "POST", path, `{"url":"http://example.com","events":["all"]}`); status != 400 {
		t.Errorf("create with http: %d %s", status, b)
	}
	if status, _ = g.do(t, "", "POST", path, `{}`); status != 401 {
		t.Errorf("create without token: %d", status)
	}
	other, _ := g.keys.IssueToken("xsolla", "someone", time.Hour, nil)
	if status, b = g.do(t, other, "POST", path, `{}`); status != 403 || decodeErr(t, b).Message != "Forbidden Resource" {
		t.Errorf("create with another dialect's token: %d %s", status, b)
	}

	// List.
	status, b = g.do(t, token, "GET", path, "")
	var list api.WebhookListResponse
	if err := json.Unmarshal(b, &list); status != 200 || err != nil || len(list.Data) != 1 || list.Data[0].Id != w.Id {
		t.Errorf("list: %d %s", status, b)
	}
	if status, b = g.do(t, "garbage", "GET", path, ""); status != 401 || string(b) != `{"message":"Unauthorized","statusCode":401}`+"\n" {
		t.Errorf("list with a bad token: %d %q", status, b)
	}
	if status, _ = g.do(t, other, "GET", path, ""); status != 403 {
		t.Errorf("list with another dialect's token: %d", status)
	}

	// Update: events replace, url optional, secrets kept when omitted.
	status, b = g.do(t, token, "PATCH", path+"/"+w.Id.String(), `{"events":["all"]}`)
	var updated api.WebhookResponse
	if err := json.Unmarshal(b, &updated); status != 200 || err != nil || !reflect.DeepEqual(updated.Data.Events, []api.Event{"all"}) ||
		updated.Data.Url != w.Url || !reflect.DeepEqual(updated.Data.Secrets, w.Secrets) {
		t.Errorf("update: %d %s", status, b)
	}
	status, b = g.do(t, token, "PATCH", path+"/"+w.Id.String(), `{"events":["all"],"url":"https://example.com/v2","secrets":["a","b"]}`)
	if err := json.Unmarshal(b, &updated); status != 200 || err != nil || updated.Data.Url != "https://example.com/v2" || !reflect.DeepEqual(updated.Data.Secrets, []string{"a", "b"}) {
		t.Errorf("update url and secrets: %d %s", status, b)
	}
	if status, b = g.do(t, token, "PATCH", path+"/"+w.Id.String(), `{"url":"https://example.com"}`); status != 400 {
		t.Errorf("update without events: %d %s", status, b)
	}
	if status, b = g.do(t, token, "PATCH", path+"/00000000-0000-4000-8000-000000000000", `{"events":["all"]}`); status != 404 ||
		string(b) != `{"error":"Not Found","message":"Webhook not found","statusCode":404}`+"\n" {
		t.Errorf("update unknown: %d %s", status, b)
	}
	if status, _ = g.do(t, "", "PATCH", path+"/"+w.Id.String(), `{"events":["all"]}`); status != 401 {
		t.Errorf("update without token: %d", status)
	}
	if status, _ = g.do(t, other, "PATCH", path+"/"+w.Id.String(), `{"events":["all"]}`); status != 403 {
		t.Errorf("update with another dialect's token: %d", status)
	}

	// Delete.
	if status, b = g.do(t, token, "DELETE", path+"/not-a-uuid", ""); status != 400 || decodeErr(t, b).Message != "Validation failed (uuid is expected)" {
		t.Errorf("delete a non-UUID: %d %s", status, b)
	}
	if status, _ = g.do(t, "", "DELETE", path+"/"+w.Id.String(), ""); status != 401 {
		t.Errorf("delete without token: %d", status)
	}
	if status, _ = g.do(t, other, "DELETE", path+"/"+w.Id.String(), ""); status != 403 {
		t.Errorf("delete with another dialect's token: %d", status)
	}
	if status, b = g.do(t, token, "DELETE", path+"/"+w.Id.String(), ""); status != 200 || len(b) != 0 {
		t.Errorf("delete: %d %q", status, b)
	}
	if status, _ = g.do(t, token, "DELETE", path+"/"+w.Id.String(), ""); status != 404 {
		t.Errorf("delete again: %d", status)
	}

	// Logs: 200, 400, 401, 403 (TestLogs checks their content).
	if status, _ = g.do(t, token, "GET", "/api/v2/public/webhooks/logs", ""); status != 200 {
		t.Errorf("logs: %d", status)
	}
	if status, _ = g.do(t, token, "GET", "/api/v2/public/webhooks/logs?limit=x", ""); status != 400 {
		t.Errorf("logs with a bad limit: %d", status)
	}
	if status, _ = g.do(t, "", "GET", "/api/v2/public/webhooks/logs", ""); status != 401 {
		t.Errorf("logs without a token: %d", status)
	}
	if status, _ = g.do(t, other, "GET", "/api/v2/public/webhooks/logs", ""); status != 403 {
		t.Errorf("logs with another dialect's token: %d", status)
	}

	// Rate limit: 429 with an HTML body, on every operation.
	limited := start(t, server.NewLimiter(0.001, 1))
	_, ltoken := limited.client(t)
	if status, _ := limited.do(t, ltoken, "GET", path, ""); status != 200 {
		t.Fatalf("first request: %d", status)
	}
	for _, op := range []struct{ method, path, body string }{
		{"GET", path, ""}, {"POST", path, `{}`}, {"PATCH", path + "/" + w.Id.String(), `{}`}, {"DELETE", path + "/" + w.Id.String(), ""},
		{"GET", "/api/v2/public/webhooks/logs", ""},
	} {
		resp, b := limited.contract.Do(t, servertest.Request(t, op.method, limited.url+op.path, op.body, "Authorization", "Bearer "+ltoken))
		if resp.StatusCode != 429 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "429") {
			t.Errorf("%s %s over the limit: %d %s", op.method, op.path, resp.StatusCode, b)
		}
	}
	g.contract.Absorb(limited.contract)

	// Paths and methods no route takes answer NestJS's "Cannot <METHOD> <url>" 404 (the
	// suite checks the envelope; the wording is Nest's).
	_, token = g.client(t)
	for _, r := range []struct{ method, path string }{{"PUT", path}, {"GET", "/oidc/oauth/token"}} {
		req := servertest.Request(t, r.method, g.url+r.path, "", "Authorization", "Bearer "+token)
		_, b := g.contract.DoUnrouted(t, req, 404, "Unrouted")
		if e := decodeErr(t, b); e.Message != "Cannot "+r.method+" "+r.path || e.Error != "Not Found" || e.StatusCode != 404 {
			t.Errorf("%s %s: %s", r.method, r.path, b)
		}
	}
	g.contract.Absorb(dialecttest.Run(t, conformance()))
	g.contract.RequireAllExercised(t)
}

func TestValidationMessages(t *testing.T) {
	g := start(t, nil)
	_, token := g.client(t)
	all := "each value in events must be one of the following values: all, facility.user-connection.accepted, facility.user-connection.rejected, facility.creation.accepted, facility.creation.rejected"
	tests := []struct {
		name, body string
		want       []string
	}{
		{"empty object", `{}`, []string{"should be a secure URL with HTTPS", "url must be a string", "events must contain at least 1 elements", "events must be an array", all}},
		{"everything wrong", `{"url":5,"events":"x","secrets":"s"}`, []string{"should be a secure URL with HTTPS", "url must be a string", "events must contain at least 1 elements", "events must be an array", all, "secrets must contain no more than 2 elements", "secrets must be an array"}},
		{"http url", `{"url":"http://example.com","events":["all"]}`, []string{"should be a secure URL with HTTPS"}},
		{"relative url", `{"url":"/hook","events":["all"]}`, []string{"should be a secure URL with HTTPS"}},
		{"no events", `{"url":"https://example.com","events":[]}`, []string{"events must contain at least 1 elements"}},
		{"unknown event", `{"url":"https://example.com","events":["shift.created"]}`, []string{all}},
		{"event not in an array", `{"url":"https://example.com","events":"all"}`, []string{"events must contain at least 1 elements", "events must be an array"}},
		{"three secrets", `{"url":"https://example.com","events":["all"],"secrets":["a","b","c"]}`, []string{"secrets must contain no more than 2 elements"}},
		{"secret not a string", `{"url":"https://example.com","events":["all"],"secrets":[1]}`, []string{"each value in secrets must be a string"}},
	}
	for _, tt := range tests {
		status, b := g.do(t, token, "POST", path, tt.body)
		e := decodeErr(t, b)
		got, _ := e.Message.([]any)
		var msgs []string
		for _, m := range got {
			msgs = append(msgs, m.(string))
		}
		if status != 400 || e.Error != "Bad Request" || e.StatusCode != 400 || !reflect.DeepEqual(msgs, tt.want) {
			t.Errorf("%s: %d %s\nwant %q", tt.name, status, b, tt.want)
		}
	}
	// Malformed JSON: Node's JSON.parse wording, as a NestJS server answers.
	for body, want := range map[string]string{
		`{"url":`:                       "Unexpected end of JSON input",
		`{"url":"https://example.com`:   "Unterminated string in JSON at position 27",
		`{"url" "https://example.com"}`: "Expected ':' after property name in JSON at position 7",
		`nope`:                          `Unexpected token 'n', "nope" is not valid JSON`,
	} {
		status, b := g.do(t, token, "POST", path, body)
		if e := decodeErr(t, b); status != 400 || e.Message != want || e.Error != "Bad Request" {
			t.Errorf("malformed JSON %s: %d %s, want message %q", body, status, b, want)
		}
	}
	if _, total, _ := g.db.FindWebhooks(context.Background(), store.WebhookFilter{}); total != 0 {
		t.Errorf("rejected requests stored %d webhooks", total)
	}
}

func TestClientsAreIsolated(t *testing.T) {
	g := start(t, nil)
	_, alice := g.client(t)
	_, bob := g.client(t)
	status, b := g.do(t, alice, "POST", path, `{"url":"https://alice.example.com","events":["all"]}`)
	var created api.WebhookResponse
	if status != 201 || json.Unmarshal(b, &created) != nil {
		t.Fatalf("create: %d %s", status, b)
	}
	id := created.Data.Id.String()
	if _, b = g.do(t, bob, "GET", path, ""); string(b) != `{"data":[]}`+"\n" {
		t.Errorf("bob sees %s", b)
	}
	if status, _ = g.do(t, bob, "PATCH", path+"/"+id, `{"events":["all"]}`); status != 404 {
		t.Errorf("bob updates alice's webhook: %d", status)
	}
	if status, _ = g.do(t, bob, "DELETE", path+"/"+id, ""); status != 404 {
		t.Errorf("bob deletes alice's webhook: %d", status)
	}
	// Another dialect's webhook with the same id is invisible too.
	if err := g.db.CreateWebhook(context.Background(), &store.Webhook{Dialect: "authing", ExternalID: "00000000-0000-4000-8000-0000000000aa", URL: "https://authing.example.com"}); err != nil {
		t.Fatal(err)
	}
	if status, _ = g.do(t, alice, "DELETE", path+"/00000000-0000-4000-8000-0000000000aa", ""); status != 404 {
		t.Errorf("alice deletes an Authing webhook: %d", status)
	}
	// A revoked client's token stops working.
	creds, _ := g.db.Credentials(context.Background(), nursa.Name)
	for _, c := range creds {
		_ = g.db.DeleteCredential(context.Background(), c.ID)
	}
	if status, _ = g.do(t, alice, "GET", path, ""); status != 401 {
		t.Errorf("revoked client: %d", status)
	}
}

// TestGeneratedClient drives the API through the client generated from the spec, as a
// Nursa integration would, with HTTP Basic client authentication at the token endpoint.
func TestGeneratedClient(t *testing.T) {
	g := start(t, nil)
	m, err := g.dialect.MintCredential(context.Background(), server.CredentialRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	basic := func(_ context.Context, r *http.Request) error {
		r.SetBasicAuth(m.Field("clientId"), m.Field("clientSecret"))
		return nil
	}
	c, err := api.NewClientWithResponses(g.url)
	if err != nil {
		t.Fatal(err)
	}
	grant := api.ClientCredentials
	tr, err := c.IssueTokenWithFormdataBodyWithResponse(ctx, api.IssueTokenFormdataRequestBody{GrantType: &grant}, basic)
	if err != nil || tr.JSON200 == nil {
		t.Fatalf("token: %v %s", err, tr.Body)
	}
	bearer := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+tr.JSON200.AccessToken)
		return nil
	}
	secrets := []string{"first-secret", "second-secret"}
	cr, err := c.CreateUserWebhookWithResponse(ctx, api.CreateWebhook{Url: "https://example.com/gen", Events: []api.Event{api.FacilityCreationRejected}, Secrets: &secrets}, bearer)
	if err != nil || cr.JSON201 == nil || !reflect.DeepEqual(cr.JSON201.Data.Secrets, secrets) {
		t.Fatalf("create: %v %s", err, cr.Body)
	}
	lr, err := c.GetAllUserWebhooksWithResponse(ctx, bearer)
	if err != nil || lr.JSON200 == nil || len(lr.JSON200.Data) != 1 {
		t.Fatalf("list: %v %s", err, lr.Body)
	}
	id := cr.JSON201.Data.Id.String()
	ur, err := c.UpdateUserWebhookWithResponse(ctx, id, api.UpdateWebhook{Events: []api.Event{api.All}}, bearer)
	if err != nil || ur.JSON200 == nil || ur.JSON200.Data.Events[0] != api.All {
		t.Fatalf("update: %v %s", err, ur.Body)
	}
	nf, err := c.UpdateUserWebhookWithResponse(ctx, "6f1c2d3e-0000-4000-8000-000000000000", api.UpdateWebhook{Events: []api.Event{api.All}}, bearer)
	if err != nil || nf.JSON404 == nil {
		t.Fatalf("update unknown: %v %s", err, nf.Body)
	}
	dr, err := c.DeleteUserWebhookWithResponse(ctx, id, bearer)
	if err != nil || dr.StatusCode() != 200 {
		t.Fatalf("delete: %v %d", err, dr.StatusCode())
	}
}
