package fusionauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	api "github.com/polyhook/polyhook/gen/fusionauthapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// gateway serves the FusionAuth dialect on a fresh store and returns what tests need.
type gateway struct {
	url      string
	key      string
	db       *store.DB
	contract *servertest.Contract
}

func start(t *testing.T) *gateway { return startOn(t, storetest.Open(t)) }

// startOn serves the FusionAuth dialect on db; opts may change its dependencies.
func startOn(t *testing.T, db *store.DB, opts ...func(*server.Deps)) *gateway {
	t.Helper()
	keys, err := server.NewKeys("fusionauth-test-master-key")
	if err != nil {
		t.Fatal(err)
	}
	deps := server.Deps{DB: db, Keys: keys, Log: servertest.Logger(t)}
	for _, o := range opts {
		o(&deps)
	}
	d := fusionauth.New(deps)
	url, _ := servertest.Start(t, d)
	// The signing key fullBody names.
	if err := db.CreateSigningKey(context.Background(), &store.SigningKey{
		ID: "9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", Algorithm: "HS256", Kid: "test-kid",
		PrivateSealed: keys.Seal("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="),
	}); err != nil {
		t.Fatal(err)
	}
	m, err := d.MintCredential(context.Background(), server.CredentialRequest{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	return &gateway{url: url, key: m.Field("apiKey"), db: db, contract: servertest.NewContract(t, spec, url)}
}

// do sends an authenticated request, validated against the spec.
func (g *gateway) do(t *testing.T, method, path, body string, headers ...string) (int, []byte, http.Header) {
	t.Helper()
	req := servertest.Request(t, method, g.url+path, body, append([]string{"Authorization", g.key}, headers...)...)
	resp, b := g.contract.Do(t, req)
	return resp.StatusCode, b, resp.Header
}

func (g *gateway) anon(t *testing.T, method, path, body string, headers ...string) int {
	t.Helper()
	resp, b := g.contract.Do(t, servertest.Request(t, method, g.url+path, body, headers...))
	if len(b) != 0 {
		t.Errorf("%s %s unauthenticated: body %q, want empty", method, path, b)
	}
	return resp.StatusCode
}

func webhookOf(t *testing.T, b []byte) api.Webhook {
	t.Helper()
	var r api.WebhookResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return r.Webhook
}

// codes returns every error code of an Errors body, sorted.
func codes(t *testing.T, b []byte) []string {
	t.Helper()
	var e api.Errors
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("decode errors %s: %v", b, err)
	}
	var out []string
	if e.FieldErrors != nil {
		for field, errs := range *e.FieldErrors {
			for _, fe := range errs {
				if fe.Message == "" {
					t.Errorf("field error %s without a message", field)
				}
				out = append(out, fe.Code)
			}
		}
	}
	if e.GeneralErrors != nil {
		for _, ge := range *e.GeneralErrors {
			out = append(out, ge.Code)
		}
	}
	sort.Strings(out)
	return out
}

const fullBody = `{"webhook": {
	"url": "https://example.com/hooks/a",
	"connectTimeout": 1000, "readTimeout": 2000,
	"description": "Game server",
	"eventsEnabled": {"user.create": true, "user.delete": false},
	"global": false,
	"tenantIds": ["7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80"],
	"headers": {"X-Game": "1"},
	"httpAuthenticationUsername": "user", "httpAuthenticationPassword": "pass",
	"signatureConfiguration": {"enabled": true, "signingKeyId": "9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"},
	"sslCertificateKeyId": "1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
	"data": {"big": 12345678901234567890, "nested": {"a": [1, "x"]}}
}}`

func TestContract(t *testing.T) {
	g := start(t)
	const id = "00000000-0000-4000-8000-000000000001"
	const minimal = `{"webhook":{"url":"https://example.com/z","connectTimeout":5,"readTimeout":5}}`

	// Create, with and without an id.
	status, b, _ := g.do(t, "POST", "/api/webhook", fullBody)
	if status != 200 {
		t.Fatalf("create: %d %s", status, b)
	}
	created := webhookOf(t, b)
	var sent api.WebhookRequest
	if err := json.Unmarshal([]byte(fullBody), &sent); err != nil {
		t.Fatal(err)
	}
	want := *sent.Webhook
	want.Id, want.InsertInstant, want.LastUpdateInstant = created.Id, created.InsertInstant, created.LastUpdateInstant
	if created.Id == nil || created.InsertInstant == nil || *created.InsertInstant != *created.LastUpdateInstant {
		t.Fatalf("create did not set id and instants: %s", b)
	}
	if got, wantJSON := mustJSON(t, created), mustJSON(t, want); got != wantJSON {
		t.Errorf("create did not round-trip what the client wrote:\n got %s\nwant %s", got, wantJSON)
	}
	if status, b, _ = g.do(t, "POST", "/api/webhook/"+id, minimal); status != 200 || webhookOf(t, b).Id.String() != id {
		t.Fatalf("create with id: %d %s", status, b)
	}
	if status, b, _ = g.do(t, "POST", "/api/webhook/"+id, minimal); status != 400 || !reflect.DeepEqual(codes(t, b), []string{"[duplicate]webhookId"}) {
		t.Errorf("duplicate id: %d %s", status, b)
	}
	if status, b, _ = g.do(t, "POST", "/api/webhook/not-a-uuid", minimal); status != 400 || !reflect.DeepEqual(codes(t, b), []string{"[couldNotConvert]webhookId"}) {
		t.Errorf("non-UUID id: %d %s", status, b)
	}
	if status, b, _ = g.do(t, "POST", "/api/webhook", `{"webhook":{}}`); status != 400 {
		t.Errorf("empty webhook: %d %s", status, b)
	}
	for _, p := range []string{"/api/webhook", "/api/webhook/" + id} {
		if s := g.anon(t, "POST", p, minimal); s != 401 {
			t.Errorf("POST %s without key: %d", p, s)
		}
		if s := g.anon(t, "POST", p, minimal, "Authorization", "wrong-key"); s != 401 {
			t.Errorf("POST %s with a wrong key: %d", p, s)
		}
	}

	// Retrieve all: sorted by URL.
	status, b, _ = g.do(t, "GET", "/api/webhook", "")
	var all api.WebhooksResponse
	if err := json.Unmarshal(b, &all); status != 200 || err != nil || len(all.Webhooks) != 2 ||
		*all.Webhooks[0].Url != "https://example.com/hooks/a" || *all.Webhooks[1].Url != "https://example.com/z" {
		t.Errorf("retrieve all: %d %s", status, b)
	}
	if s := g.anon(t, "GET", "/api/webhook", ""); s != 401 {
		t.Errorf("retrieve all without key: %d", s)
	}

	// Retrieve one.
	if status, b, _ = g.do(t, "GET", "/api/webhook/"+created.Id.String(), ""); status != 200 || mustJSON(t, webhookOf(t, b)) != mustJSON(t, created) {
		t.Errorf("retrieve: %d %s", status, b)
	}
	if status, b, _ = g.do(t, "GET", "/api/webhook/00000000-0000-4000-8000-00000000dead", ""); status != 404 || len(b) != 0 {
		t.Errorf("retrieve unknown: %d %q", status, b)
	}
	if status, _, _ = g.do(t, "GET", "/api/webhook/123", ""); status != 400 {
		t.Errorf("retrieve non-UUID: %d", status)
	}
	if s := g.anon(t, "GET", "/api/webhook/"+id, ""); s != 401 {
		t.Errorf("retrieve without key: %d", s)
	}

	// Replace.
	status, b, _ = g.do(t, "PUT", "/api/webhook/"+id, `{"webhook":{"url":"https://example.com/put","connectTimeout":7,"readTimeout":8,"global":true,"id":"11111111-1111-4111-8111-111111111111"}}`)
	put := webhookOf(t, b)
	if status != 200 || put.Id.String() != id || *put.Url != "https://example.com/put" || !*put.Global || *put.ConnectTimeout != 7 {
		t.Errorf("replace: %d %s", status, b)
	}
	if status, b, _ = g.do(t, "PUT", "/api/webhook/"+id, `{"webhook":{"url":"https://example.com/put"}}`); status != 400 ||
		!reflect.DeepEqual(codes(t, b), []string{"[missing]webhook.connectTimeout", "[missing]webhook.readTimeout"}) {
		t.Errorf("replace without timeouts: %d %s", status, b)
	}
	if status, _, _ = g.do(t, "PUT", "/api/webhook/00000000-0000-4000-8000-00000000dead", minimal); status != 404 {
		t.Errorf("replace unknown: %d", status)
	}
	if s := g.anon(t, "PUT", "/api/webhook/"+id, minimal); s != 401 {
		t.Errorf("replace without key: %d", s)
	}

	// Patch in each content type.
	if status, b, _ = g.do(t, "PATCH", "/api/webhook/"+id, `{"webhook":{"description":"patched"}}`); status != 200 || *webhookOf(t, b).Description != "patched" {
		t.Errorf("patch json: %d %s", status, b)
	}
	if status, b, _ = g.do(t, "PATCH", "/api/webhook/"+id, `{"webhook":{"description":null}}`, "Content-Type", "application/merge-patch+json"); status != 200 || webhookOf(t, b).Description != nil {
		t.Errorf("merge patch: %d %s", status, b)
	}
	if status, b, _ = g.do(t, "PATCH", "/api/webhook/"+id, `[{"op":"replace","path":"/webhook/readTimeout","value":99}]`, "Content-Type", "application/json-patch+json"); status != 200 || *webhookOf(t, b).ReadTimeout != 99 {
		t.Errorf("json patch: %d %s", status, b)
	}
	if status, b, _ = g.do(t, "PATCH", "/api/webhook/"+id, `{"webhook":{"readTimeout":-1}}`); status != 400 || !reflect.DeepEqual(codes(t, b), []string{"[invalid]webhook.readTimeout"}) {
		t.Errorf("patch to an invalid webhook: %d %s", status, b)
	}
	if status, _, _ = g.do(t, "PATCH", "/api/webhook/00000000-0000-4000-8000-00000000dead", `{"webhook":{}}`); status != 404 {
		t.Errorf("patch unknown: %d", status)
	}
	if s := g.anon(t, "PATCH", "/api/webhook/"+id, `{"webhook":{}}`); s != 401 {
		t.Errorf("patch without key: %d", s)
	}

	// Search, both ways.
	status, b, _ = g.do(t, "GET", "/api/webhook/search?url=PUT&numberOfResults=undefined&orderBy=undefined&startRow=undefined&tenantId=undefined&description=undefined", "")
	var sr api.WebhookSearchResponse
	if err := json.Unmarshal(b, &sr); status != 200 || err != nil || sr.Total != 1 || len(sr.Webhooks) != 1 || sr.Webhooks[0].Id.String() != id {
		t.Errorf("search by parameters: %d %s", status, b)
	}
	if status, b, _ = g.do(t, "GET", "/api/webhook/search?numberOfResults=ten", ""); status != 400 || !reflect.DeepEqual(codes(t, b), []string{"[couldNotConvert]numberOfResults"}) {
		t.Errorf("search with a bad number: %d %s", status, b)
	}
	if s := g.anon(t, "GET", "/api/webhook/search", ""); s != 401 {
		t.Errorf("search without key: %d", s)
	}
	status, b, _ = g.do(t, "POST", "/api/webhook/search", `{"search":{"description":"game","numberOfResults":10}}`)
	if err := json.Unmarshal(b, &sr); status != 200 || err != nil || sr.Total != 1 || *sr.Webhooks[0].Description != "Game server" {
		t.Errorf("search by body: %d %s", status, b)
	}
	if status, b, _ = g.do(t, "POST", "/api/webhook/search", `{"search":{"orderBy":"name ASC"}}`); status != 400 || !reflect.DeepEqual(codes(t, b), []string{"[invalid]search.orderBy"}) {
		t.Errorf("search with a bad order: %d %s", status, b)
	}
	if s := g.anon(t, "POST", "/api/webhook/search", `{}`); s != 401 {
		t.Errorf("search by body without key: %d", s)
	}

	// Delete: 200 with no body and no JSON content type.
	status, b, h := g.do(t, "DELETE", "/api/webhook/"+id, "")
	if status != 200 || len(b) != 0 || h.Get("Content-Type") != "" {
		t.Errorf("delete: %d %q content type %q", status, b, h.Get("Content-Type"))
	}
	if status, _, _ = g.do(t, "DELETE", "/api/webhook/"+id, ""); status != 404 {
		t.Errorf("delete again: %d", status)
	}
	if status, b, _ = g.do(t, "DELETE", "/api/webhook/nope", ""); status != 400 || !reflect.DeepEqual(codes(t, b), []string{"[couldNotConvert]webhookId"}) {
		t.Errorf("delete non-UUID: %d %s", status, b)
	}
	if s := g.anon(t, "DELETE", "/api/webhook/"+created.Id.String(), ""); s != 401 {
		t.Errorf("delete without key: %d", s)
	}

	// Event and attempt logs: an event delivered to the first webhook, failing then
	// succeeding.
	ctx := context.Background()
	stored, err := g.db.GetWebhook(ctx, store.WebhookKey{Dialect: fusionauth.Name, ExternalID: created.Id.String()})
	if err != nil {
		t.Fatal(err)
	}
	d := store.Delivery{ID: "msg_fa1", EventID: "6a1c2d3e-0000-4000-8000-0000000000e1", WebhookID: stored.ID, Dialect: fusionauth.Name, EventName: "user.create", Status: store.DeliveryPending}
	if err := storetest.CreateEvent(ctx, g.db, &store.Event{ID: d.EventID, Type: "user.created", Data: []byte(`{"user":{"email":"ada@example.com"}}`), OccurredAt: time.Now()}, []store.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	for i, code := range []int{500, 200} {
		d.Attempts, d.LastStatus = i+1, code
		if code == 200 {
			d.Status = store.DeliverySucceeded
		}
		a := &store.Attempt{ID: []string{"6a1c2d3e-0000-4000-8000-0000000000a1", "6a1c2d3e-0000-4000-8000-0000000000a2"}[i], DeliveryID: d.ID, Number: i + 1,
			URL: stored.URL, StartedAt: time.Now(), DurationMS: 12, ResponseStatus: code,
			RequestBody: `{"event":{"type":"user.create","id":"` + d.EventID + `","user":{"email":"ada@example.com"}}}`}
		if err := storetest.RecordAttempt(ctx, g.db, a, &d); err != nil {
			t.Fatal(err)
		}
	}
	status, b, _ = g.do(t, "GET", "/api/system/webhook-event-log/"+d.EventID, "")
	var el struct{ WebhookEventLog map[string]any }
	if err := json.Unmarshal(b, &el); status != 200 || err != nil || el.WebhookEventLog["eventResult"] != "Succeeded" ||
		el.WebhookEventLog["failedAttempts"] != 1.0 || el.WebhookEventLog["successfulAttempts"] != 1.0 || len(el.WebhookEventLog["attempts"].([]any)) != 2 {
		t.Errorf("event log: %d %s", status, b)
	}
	if status, _, _ = g.do(t, "GET", "/api/system/webhook-event-log/nope", ""); status != 404 {
		t.Errorf("unknown event log: %d", status)
	}
	if s := g.anon(t, "GET", "/api/system/webhook-event-log/"+d.EventID, ""); s != 401 {
		t.Errorf("event log without key: %d", s)
	}
	status, b, _ = g.do(t, "GET", "/api/system/webhook-attempt-log/6a1c2d3e-0000-4000-8000-0000000000a1", "")
	if status != 200 || !strings.Contains(string(b), `"attemptResult":"Failure"`) || !strings.Contains(string(b), `"statusCode":500`) || !strings.Contains(string(b), created.Id.String()) {
		t.Errorf("attempt log: %d %s", status, b)
	}
	if status, _, _ = g.do(t, "GET", "/api/system/webhook-attempt-log/nope", ""); status != 404 {
		t.Errorf("unknown attempt log: %d", status)
	}
	if s := g.anon(t, "GET", "/api/system/webhook-attempt-log/nope", ""); s != 401 {
		t.Errorf("attempt log without key: %d", s)
	}
	for _, q := range []string{"eventResult=Succeeded", "eventType=user.create&event=ADA", "start=0&orderBy=insertInstant+ASC", "eventResult=undefined"} {
		status, b, _ = g.do(t, "GET", "/api/system/webhook-event-log/search?"+q, "")
		if status != 200 || !strings.Contains(string(b), `"total":1`) {
			t.Errorf("event log search ?%s: %d %s", q, status, b)
		}
	}
	for _, q := range []string{"eventResult=Failed", "eventType=user.delete", "event=nobody", "end=0"} {
		if status, b, _ = g.do(t, "GET", "/api/system/webhook-event-log/search?"+q, ""); status != 200 || !strings.Contains(string(b), `"total":0`) {
			t.Errorf("event log search ?%s: %d %s", q, status, b)
		}
	}
	if status, b, _ = g.do(t, "GET", "/api/system/webhook-event-log/search?eventResult=Maybe&start=x", ""); status != 400 ||
		!reflect.DeepEqual(codes(t, b), []string{"[couldNotConvert]eventResult", "[couldNotConvert]start"}) {
		t.Errorf("event log search with bad criteria: %d %s", status, b)
	}
	if s := g.anon(t, "GET", "/api/system/webhook-event-log/search", ""); s != 401 {
		t.Errorf("event log search without key: %d", s)
	}
	if status, b, _ = g.do(t, "POST", "/api/system/webhook-event-log/search", `{"search":{"eventResult":"Succeeded","numberOfResults":1}}`); status != 200 || !strings.Contains(string(b), `"total":1`) {
		t.Errorf("event log search by body: %d %s", status, b)
	}
	if status, _, _ = g.do(t, "POST", "/api/system/webhook-event-log/search", `{"search":{"orderBy":"url"}}`); status != 400 {
		t.Errorf("event log search by body, bad order: %d", status)
	}
	if status, b, _ = g.do(t, "POST", "/api/system/webhook-event-log/search", `{"search":{"numberOfResults":20000}}`); status != 400 || !reflect.DeepEqual(codes(t, b), []string{"[invalid]search.numberOfResults"}) {
		t.Errorf("event log search by body, page over the window: %d %s", status, b)
	}
	if s := g.anon(t, "POST", "/api/system/webhook-event-log/search", `{}`); s != 401 {
		t.Errorf("event log search by body without key: %d", s)
	}

	// PUT and DELETE without an id: FusionAuth's [missing]webhookId, after authentication.
	for _, m := range []string{"PUT", "DELETE"} {
		if status, b, _ := g.do(t, m, "/api/webhook", minimal); status != 400 || !reflect.DeepEqual(codes(t, b), []string{"[missing]webhookId"}) {
			t.Errorf("%s /api/webhook: %d %s", m, status, b)
		}
		if s := g.anon(t, m, "/api/webhook", ""); s != 401 {
			t.Errorf("%s /api/webhook without key: %d", m, s)
		}
	}
	// The key set is public; HMAC keys have no public part.
	resp, b := g.contract.Do(t, servertest.Request(t, "GET", g.url+"/.well-known/jwks.json", ""))
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != `{"keys":[]}` {
		t.Errorf("jwks: %d %s", resp.StatusCode, b)
	}

	throttled(t, g.contract)
	g.contract.Absorb(dialecttest.Run(t, conformance()))
	g.contract.RequireAllExercised(t)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestValidation(t *testing.T) {
	g := start(t)
	tests := []struct {
		name, body string
		want       []string
	}{
		{"no body", ``, []string{"[missing]webhook"}},
		{"no webhook", `{}`, []string{"[missing]webhook"}},
		{"malformed JSON", `{"webhook": {`, []string{"[invalidJSON]"}},
		{"two JSON values", `{"webhook": {}} {}`, []string{"[invalidJSON]"}},
		{"wrong type", `{"webhook": {"url": "https://x.example", "connectTimeout": "soon", "readTimeout": 1}}`, []string{"[invalidJSON]"}},
		{"missing url and timeouts", `{"webhook": {}}`, []string{"[missing]webhook.connectTimeout", "[missing]webhook.readTimeout", "[missing]webhook.url"}},
		{"relative url", `{"webhook": {"url": "/hook", "connectTimeout": 1, "readTimeout": 1}}`, []string{"[invalid]webhook.url"}},
		{"ftp url", `{"webhook": {"url": "ftp://example.com", "connectTimeout": 1, "readTimeout": 1}}`, []string{"[invalid]webhook.url"}},
		{"zero and negative timeouts", `{"webhook": {"url": "http://example.com", "connectTimeout": 0, "readTimeout": -5}}`, []string{"[invalid]webhook.connectTimeout", "[invalid]webhook.readTimeout"}},
		{"description too long", `{"webhook": {"url": "http://example.com", "connectTimeout": 1, "readTimeout": 1, "description": "` + strings.Repeat("é", 256) + `"}}`, []string{"[tooLong]webhook.description"}},
		{"global with tenants", `{"webhook": {"url": "http://example.com", "connectTimeout": 1, "readTimeout": 1, "global": true, "tenantIds": ["7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80"]}}`, []string{"[invalid]webhook.tenantIds"}},
		{"unknown event", `{"webhook": {"url": "http://example.com", "connectTimeout": 1, "readTimeout": 1, "eventsEnabled": {"user.explode": true}}}`, []string{"[invalidJSON]"}},
		{"non-UUID tenant", `{"webhook": {"url": "http://example.com", "connectTimeout": 1, "readTimeout": 1, "tenantIds": ["x"]}}`, []string{"[invalidJSON]"}},
		{"unknown signing key", `{"webhook": {"url": "http://example.com", "connectTimeout": 1, "readTimeout": 1, "signatureConfiguration": {"enabled": true, "signingKeyId": "00000000-0000-4000-8000-00000000beef"}}}`, []string{"[invalid]webhook.signatureConfiguration.signingKeyId"}},
		{"signing without key", `{"webhook": {"url": "http://example.com", "connectTimeout": 1, "readTimeout": 1, "signatureConfiguration": {"enabled": true}}}`, []string{"[missing]webhook.signatureConfiguration.signingKeyId"}},
		{"certificate not PEM", `{"webhook": {"url": "http://example.com", "connectTimeout": 1, "readTimeout": 1, "sslCertificate": "nope"}}`, []string{"[invalid]webhook.sslCertificate"}},
		{"username too long", `{"webhook": {"url": "http://example.com", "connectTimeout": 1, "readTimeout": 1, "httpAuthenticationUsername": "` + strings.Repeat("u", 256) + `"}}`, []string{"[tooLong]webhook.httpAuthenticationUsername"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b, _ := g.do(t, "POST", "/api/webhook", tt.body)
			if status != 400 {
				t.Fatalf("status %d, want 400: %s", status, b)
			}
			if got := codes(t, b); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("codes %v, want %v (%s)", got, tt.want, b)
			}
		})
	}
	if _, total, _ := g.db.FindWebhooks(context.Background(), store.WebhookFilter{}); total != 0 {
		t.Errorf("rejected requests stored %d webhooks", total)
	}
}

func TestPatchSemantics(t *testing.T) {
	g := start(t)
	const id = "00000000-0000-4000-8000-000000000002"
	tenantA, tenantB := "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80", "1e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f81"
	if s, b, _ := g.do(t, "POST", "/api/webhook/"+id, `{"webhook":{"url":"https://example.com/p","connectTimeout":1,"readTimeout":1,"description":"d","tenantIds":["`+tenantA+`"],"eventsEnabled":{"user.create":true},"data":{"keep":1,"drop":2}}}`); s != 200 {
		t.Fatalf("create: %d %s", s, b)
	}
	tenants := func(w api.Webhook) []string {
		var out []string
		for _, u := range *w.TenantIds {
			out = append(out, u.String())
		}
		return out
	}

	// application/json: arrays append, objects merge, null removes.
	_, b, _ := g.do(t, "PATCH", "/api/webhook/"+id, `{"webhook":{"tenantIds":["`+tenantB+`"],"eventsEnabled":{"user.delete":true},"data":{"drop":null},"description":null}}`)
	w := webhookOf(t, b)
	if got := tenants(w); !reflect.DeepEqual(got, []string{tenantA, tenantB}) {
		t.Errorf("json patch tenantIds = %v, want appended", got)
	}
	if ev := *w.EventsEnabled; !ev["user.create"] || !ev["user.delete"] {
		t.Errorf("json patch eventsEnabled = %v, want merged", ev)
	}
	if d := *w.Data; d["drop"] != nil || d["keep"] == nil || w.Description != nil {
		t.Errorf("json patch null did not remove: data %v description %v", d, w.Description)
	}

	// RFC 7396: arrays replaced.
	_, b, _ = g.do(t, "PATCH", "/api/webhook/"+id, `{"webhook":{"tenantIds":["`+tenantB+`"]}}`, "Content-Type", "application/merge-patch+json")
	if got := tenants(webhookOf(t, b)); !reflect.DeepEqual(got, []string{tenantB}) {
		t.Errorf("merge patch tenantIds = %v, want replaced", got)
	}

	// RFC 6902, including a failing test op that must change nothing.
	_, b, _ = g.do(t, "PATCH", "/api/webhook/"+id, `[{"op":"add","path":"/webhook/headers/X-New","value":"v"},{"op":"remove","path":"/webhook/eventsEnabled/user.create"}]`, "Content-Type", "application/json-patch+json")
	w = webhookOf(t, b)
	if (*w.Headers)["X-New"] != "v" || (*w.EventsEnabled)["user.create"] {
		t.Errorf("json patch: %s", b)
	}
	before, _ := g.db.GetWebhook(context.Background(), store.WebhookKey{Dialect: fusionauth.Name, ExternalID: id})
	for _, bad := range []struct{ body, ct string }{
		{`[{"op":"test","path":"/webhook/url","value":"https://other"},{"op":"replace","path":"/webhook/url","value":"https://changed"}]`, "application/json-patch+json"},
		{`[{"op":"replace","path":"/webhook/url"}]`, "application/json-patch+json"},
		{`{"webhook":{"url":"changed"}}`, "application/merge-patch+json"},
		{`{"webhook":{"url":"https://changed"}}`, "text/plain"},
		{`{"webhook":`, "application/json"},
		{`[1,2]`, "application/json"},
		{`{"webhook":null}`, "application/json"},
	} {
		if s, b, _ := g.do(t, "PATCH", "/api/webhook/"+id, bad.body, "Content-Type", bad.ct); s != 400 {
			t.Errorf("PATCH %s %s: %d %s, want 400", bad.ct, bad.body, s, b)
		}
	}
	after, _ := g.db.GetWebhook(context.Background(), store.WebhookKey{Dialect: fusionauth.Name, ExternalID: id})
	if !reflect.DeepEqual(before, after) {
		t.Errorf("rejected patches changed the stored webhook:\nbefore %+v\nafter  %+v", before, after)
	}
}

func TestSearch(t *testing.T) {
	g := start(t)
	tenant := "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80"
	for i, body := range []string{
		`{"webhook":{"url":"https://game.example.com/a","connectTimeout":1,"readTimeout":1,"description":"Game *star* server","tenantIds":["` + tenant + `"]}}`,
		`{"webhook":{"url":"https://other.example.com/b","connectTimeout":1,"readTimeout":1,"description":"100% other","global":true}}`,
		`{"webhook":{"url":"https://third.example.com/GAME","connectTimeout":1,"readTimeout":1,"description":"third"}}`,
	} {
		id := []string{"00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000c"}[i]
		if s, b, _ := g.do(t, "POST", "/api/webhook/"+id, body); s != 200 {
			t.Fatalf("create: %d %s", s, b)
		}
	}
	urls := func(query string) ([]string, int64) {
		t.Helper()
		s, b, _ := g.do(t, "GET", "/api/webhook/search?"+query, "")
		if s != 200 {
			t.Fatalf("search %s: %d %s", query, s, b)
		}
		var r api.WebhookSearchResponse
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, w := range r.Webhooks {
			out = append(out, *w.Url)
		}
		return out, r.Total
	}
	tests := []struct {
		query string
		want  []string
		total int64
	}{
		{"url=game&orderBy=url", []string{"https://game.example.com/a", "https://third.example.com/GAME"}, 2},
		{"url=https://game*", []string{"https://game.example.com/a"}, 1},
		{"url=*/b", []string{"https://other.example.com/b"}, 1},
		{"description=" + "**star**", []string{"https://game.example.com/a"}, 1},
		{"description=100%25", []string{"https://other.example.com/b"}, 1},
		{"description=1_0", nil, 0},
		{"tenantId=" + tenant + "&orderBy=url+DESC", []string{"https://other.example.com/b", "https://game.example.com/a"}, 2},
		{"orderBy=url&numberOfResults=1&startRow=1", []string{"https://other.example.com/b"}, 3},
		{"numberOfResults=0", nil, 3},
		{"", []string{"https://third.example.com/GAME", "https://other.example.com/b", "https://game.example.com/a"}, 3},
	}
	for _, tt := range tests {
		got, total := urls(tt.query)
		if !reflect.DeepEqual(got, tt.want) || total != tt.total {
			t.Errorf("search %q: %v (total %d), want %v (total %d)", tt.query, got, total, tt.want, tt.total)
		}
	}
	for query, code := range map[string]string{
		"tenantId=nope":     "[couldNotConvert]tenantId",
		"startRow=-1":       "[invalid]startRow",
		"orderBy=url+UP":    "[invalid]orderBy",
		"numberOfResults=x": "[couldNotConvert]numberOfResults",
		// A page larger than FusionAuth's search window is refused, not cut short.
		"numberOfResults=10001": "[invalid]numberOfResults",
	} {
		s, b, _ := g.do(t, "GET", "/api/webhook/search?"+query, "")
		if s != 400 || !reflect.DeepEqual(codes(t, b), []string{code}) {
			t.Errorf("search %q: %d %s, want %s", query, s, b, code)
		}
	}
}

func TestRevokedKeyIsRefused(t *testing.T) {
	g := start(t)
	if s, _, _ := g.do(t, "GET", "/api/webhook", ""); s != 200 {
		t.Fatalf("before revoke: %d", s)
	}
	cs, err := g.db.Credentials(context.Background(), fusionauth.Name)
	if err != nil || len(cs) != 1 {
		t.Fatal(cs, err)
	}
	if err := g.db.DeleteCredential(context.Background(), cs[0].ID); err != nil {
		t.Fatal(err)
	}
	if s, b, _ := g.do(t, "GET", "/api/webhook", ""); s != 401 || len(b) != 0 {
		t.Errorf("after revoke: %d %q", s, b)
	}
}

func TestOtherDialectsAreInvisible(t *testing.T) {
	g := start(t)
	const id = "00000000-0000-4000-8000-0000000000ff"
	other := &store.Webhook{Dialect: "nursa", Owner: "client", ExternalID: id, URL: "https://nursa.example.com"}
	if err := g.db.CreateWebhook(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := g.do(t, "GET", "/api/webhook/"+id, ""); s != 404 {
		t.Errorf("get another dialect's webhook: %d, want 404", s)
	}
	if s, _, _ := g.do(t, "DELETE", "/api/webhook/"+id, ""); s != 404 {
		t.Errorf("delete another dialect's webhook: %d, want 404", s)
	}
	if _, b, _ := g.do(t, "GET", "/api/webhook", ""); strings.Contains(string(b), "nursa.example.com") {
		t.Errorf("list shows another dialect's webhook: %s", b)
	}
	if _, b, _ := g.do(t, "GET", "/api/webhook/search", ""); strings.Contains(string(b), "nursa.example.com") {
		t.Errorf("search shows another dialect's webhook: %s", b)
	}
	// Creating the same id in FusionAuth is allowed: ids are per dialect.
	if s, b, _ := g.do(t, "POST", "/api/webhook/"+id, `{"webhook":{"url":"https://fa.example.com","connectTimeout":1,"readTimeout":1}}`); s != 200 {
		t.Errorf("same id in FusionAuth: %d %s", s, b)
	}
}
