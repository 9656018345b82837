package authing_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/gateway"
	api "github.com/polyhook/polyhook/gen/authingapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/authing"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

type served struct {
	url      string
	db       *store.DB
	dialect  *authing.Dialect
	engine   *delivery.Engine
	contract *servertest.Contract
}

func start(t *testing.T, limiter *server.Limiter) *served {
	return startOn(t, storetest.Open(t), limiter)
}

// startOn serves the Authing dialect on db; opts may change its dependencies.
func startOn(t *testing.T, db *store.DB, limiter *server.Limiter, opts ...func(*server.Deps)) *served {
	t.Helper()
	keys, _ := server.NewKeys("authing-test-master-key")
	log := servertest.Logger(t)
	engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log, Sender: delivery.SenderOptions{AllowPrivateTargets: true}})
	if err != nil {
		t.Fatal(err)
	}
	deps := server.Deps{DB: db, Keys: keys, Log: log, Limiter: limiter}
	for _, o := range opts {
		o(&deps)
	}
	srv := gateway.New(gateway.Config{Deps: deps, Engine: engine})
	d, _ := srv.Dialect(authing.Name)
	u := servertest.Serve(t, srv)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	return &served{url: u, db: db, dialect: d.(*authing.Dialect), engine: engine, contract: servertest.NewContract(t, spec, u)}
}

func (g *served) mint(t *testing.T) *server.MintedCredential {
	t.Helper()
	m, err := g.dialect.MintCredential(context.Background(), server.CredentialRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// token gets a management token through the API.
func (g *served) token(t *testing.T, m *server.MintedCredential) string {
	t.Helper()
	resp, b := g.contract.Do(t, servertest.Request(t, "POST", g.url+"/api/v3/get-management-token",
		`{"accessKeyId":"`+m.Field("accessKeyId")+`","accessKeySecret":"`+m.Field("accessKeySecret")+`"}`))
	var env struct {
		StatusCode int
		Data       struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
	}
	if err := json.Unmarshal(b, &env); resp.StatusCode != 200 || err != nil || env.StatusCode != 200 || env.Data.ExpiresIn <= 0 {
		t.Fatalf("management token: %d %s", resp.StatusCode, b)
	}
	return env.Data.AccessToken
}

type envelope struct {
	StatusCode int             `json:"statusCode"`
	Message    string          `json:"message"`
	APICode    int             `json:"apiCode"`
	RequestID  string          `json:"requestId"`
	Data       json.RawMessage `json:"data"`
}

// call sends a request with the management token scheme.
func (g *served) call(t *testing.T, token, pool, method, path, body string) (int, envelope) {
	t.Helper()
	req := servertest.Request(t, method, g.url+path, body, "Authorization", "Bearer "+token, "X-Authing-Userpool-Id", pool)
	resp, b := g.contract.Do(t, req)
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s %s: not an envelope: %s", method, path, b)
	}
	if e.StatusCode != 200 && (e.APICode == 0 || e.RequestID == "") {
		t.Errorf("%s %s: error without apiCode/requestId: %s", method, path, b)
	}
	if _, err := uuid.Parse(e.RequestID); err != nil {
		t.Errorf("%s %s: requestId %q is not a UUID: %s", method, path, e.RequestID, b)
	}
	if e.StatusCode == 200 && e.Message != "Operation successful" {
		t.Errorf("%s %s: success message %q, want the vendor's \"Operation successful\"", method, path, e.Message)
	}
	return resp.StatusCode, e
}

func TestContract(t *testing.T) {
	g := start(t, server.NewLimiter(1000, 1000))
	m := g.mint(t)
	tok := g.token(t, m)
	pool := m.Field("userPoolId")
	call := func(method, path, body string) envelope {
		t.Helper()
		status, e := g.call(t, tok, pool, method, path, body)
		if status != 200 {
			t.Fatalf("%s %s: HTTP %d", method, path, status)
		}
		return e
	}

	if e := call("POST", "/api/v3/create-webhook", `{"name":"n","url":"https://example.com/a","events":["user:created"],"contentType":"application/json"}`); e.StatusCode != 200 {
		t.Fatalf("create: %+v", e)
	}
	var w struct{ WebhookID string }
	e := call("POST", "/api/v3/create-webhook", `{"name":"m","url":"https://example.com/b","events":["login"],"contentType":"application/x-www-form-urlencoded","enabled":false}`)
	if json.Unmarshal(e.Data, &w); e.StatusCode != 200 || len(w.WebhookID) != 24 {
		t.Fatalf("create: %+v", e)
	}
	for _, bad := range []string{`{}`, `{"name":"n","url":"x","events":["login"],"contentType":"application/json"}`,
		`{"name":"n","url":"https://e.com","events":[],"contentType":"application/json"}`,
		`{"name":"n","url":"https://e.com","events":["login"],"contentType":"text/xml"}`,
		`{"name":"n","url":"https://e.com","events":["login"],"contentType":"application/json","retryConfig":{"count":1}}`, `[`} {
		if e := call("POST", "/api/v3/create-webhook", bad); e.StatusCode != 400 || e.APICode != 4000 {
			t.Errorf("create %s: %+v", bad, e)
		}
	}
	if e := call("GET", "/api/v3/list-webhooks?page=1&limit=1", ""); e.StatusCode != 200 || !strings.Contains(string(e.Data), `"totalCount":2`) {
		t.Errorf("list: %+v %s", e, e.Data)
	}
	if e := call("GET", "/api/v3/list-webhooks?limit=51", ""); e.StatusCode != 400 {
		t.Errorf("list limit 51: %+v", e)
	}
	if e := call("GET", "/api/v3/get-webhook?webhookId="+w.WebhookID, ""); e.StatusCode != 200 || !strings.Contains(string(e.Data), `"enabled":false`) {
		t.Errorf("get: %+v %s", e, e.Data)
	}
	if e := call("GET", "/api/v3/get-webhook?webhookId=nope", ""); e.StatusCode != 404 || e.APICode != 4040 {
		t.Errorf("get unknown: %+v", e)
	}
	if e := call("POST", "/api/v3/update-webhook", `{"webhookId":"`+w.WebhookID+`","enabled":true,"secret":"x"}`); e.StatusCode != 200 || !strings.Contains(string(e.Data), `"secret":"x"`) {
		t.Errorf("update: %+v %s", e, e.Data)
	}
	if e := call("POST", "/api/v3/update-webhook", `{"webhookId":"`+w.WebhookID+`","events":["nope"]}`); e.StatusCode != 400 {
		t.Errorf("update bad events: %+v", e)
	}
	if e := call("POST", "/api/v3/get-webhook-logs", `{"webhookId":"`+w.WebhookID+`"}`); e.StatusCode != 200 || string(e.Data) != `{"list":[],"totalCount":0}` {
		t.Errorf("logs: %+v %s", e, e.Data)
	}
	if e := call("POST", "/api/v3/trigger-webhook", `{"webhookId":"nope"}`); e.StatusCode != 404 {
		t.Errorf("trigger unknown: %+v", e)
	}
	if e := call("GET", "/api/v3/get-webhook-event-list", ""); e.StatusCode != 200 || !strings.Contains(string(e.Data), `"value":"user:created"`) {
		t.Errorf("event list: %+v", e)
	}
	if e := call("POST", "/api/v3/delete-webhook", `{"webhookIds":["`+w.WebhookID+`","nope"]}`); e.StatusCode != 200 || string(e.Data) != `{"success":true}` {
		t.Errorf("delete: %+v %s", e, e.Data)
	}
	if e := call("GET", "/api/v3/get-webhook?webhookId="+w.WebhookID, ""); e.StatusCode != 404 {
		t.Errorf("get deleted: %+v", e)
	}

	// Token scheme failures are 401 envelopes with HTTP 200.
	if status, e := g.call(t, tok, "another-pool", "GET", "/api/v3/list-webhooks", ""); status != 200 || e.StatusCode != 401 {
		t.Errorf("token with another pool header: %d %+v", status, e)
	}
	if status, e := g.call(t, "garbage", pool, "GET", "/api/v3/list-webhooks", ""); status != 200 || e.StatusCode != 401 {
		t.Errorf("bad token: %d %+v", status, e)
	}
	resp, b := g.contract.Do(t, servertest.Request(t, "POST", g.url+"/api/v3/get-management-token", `{"accessKeyId":"`+m.Field("accessKeyId")+`","accessKeySecret":"wrong"}`))
	if err := json.Unmarshal(b, &e); resp.StatusCode != 200 || err != nil || e.StatusCode != 401 {
		t.Errorf("token with a wrong secret: %d %s", resp.StatusCode, b)
	}

	// Throttling is a real 429, on every operation.
	limited := start(t, server.NewLimiter(0.001, 1))
	lm := limited.mint(t)
	ltok := limited.token(t, lm)
	limited.call(t, ltok, lm.Field("userPoolId"), "GET", "/api/v3/list-webhooks", "")
	for _, op := range []struct{ method, path, body string }{
		{"POST", "/api/v3/create-webhook", `{}`}, {"GET", "/api/v3/list-webhooks", ""}, {"GET", "/api/v3/get-webhook?webhookId=x", ""},
		{"POST", "/api/v3/update-webhook", `{}`}, {"POST", "/api/v3/delete-webhook", `{}`}, {"POST", "/api/v3/get-webhook-logs", `{}`},
		{"POST", "/api/v3/trigger-webhook", `{}`}, {"GET", "/api/v3/get-webhook-event-list", ""},
	} {
		if status, e := limited.call(t, ltok, lm.Field("userPoolId"), op.method, op.path, op.body); status != 429 || e.StatusCode != 429 {
			t.Errorf("%s over the limit: %d %+v", op.path, status, e)
		}
	}
	g.contract.Absorb(limited.contract)
	// get-management-token is never throttled (it is not scoped to a pool yet).

	g.contract.Absorb(dialecttest.Run(t, conformance()))
	g.contract.RequireAllExercised(t)
}

// receiver records what an Authing webhook receives.
func receiver(t *testing.T) (*httptest.Server, func() []http.Header) {
	var mu sync.Mutex
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		h := r.Header.Clone()
		h.Set("X-Test-Body", string(body))
		got = append(got, h)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"received":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []http.Header { mu.Lock(); defer mu.Unlock(); return append([]http.Header(nil), got...) }
}

// TestOfficialSDK drives authing-node-sdk@4.0.1's ManagementClient (AK/SK signatures)
// through every webhook method; testdata/sdk/sdk.js asserts each result.
func TestOfficialSDK(t *testing.T) {
	g := start(t, nil)
	m := g.mint(t)
	rcv, got := receiver(t)
	out := servertest.Node(t, "testdata/sdk", "sdk.js",
		"GATEWAY_URL="+g.url, "ACCESS_KEY_ID="+m.Field("accessKeyId"), "ACCESS_KEY_SECRET="+m.Field("accessKeySecret"), "RECEIVER_URL="+rcv.URL+"/hook")
	var res struct {
		WebhookID string
		Remaining []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	if len(res.Remaining) != 1 || res.Remaining[0] != res.WebhookID {
		t.Errorf("remaining after delete: %+v", res)
	}
	// trigger-webhook reached the receiver in Authing's format.
	hs := got()
	if len(hs) != 1 {
		t.Fatalf("receiver got %d requests, want 1 (the trigger)", len(hs))
	}
	h := hs[0]
	if h.Get("User-Agent") != "authing-webhook@2.0" || h.Get("X-Authing-Webhook-Secret") != "s3cret" || h.Get("X-Authing-Userpool-Id") != m.Field("userPoolId") || h.Get("X-Test") != "yes" {
		t.Errorf("trigger headers: %v", h)
	}
	if body := h.Get("X-Test-Body"); body != `{"eventName":"test","data":{"hello":"world"}}` {
		t.Errorf("trigger body: %s", body)
	}
	ws, _, _ := g.db.FindWebhooks(context.Background(), store.WebhookFilter{Dialect: authing.Name})
	if len(ws) != 1 || ws[0].Owner != m.Field("userPoolId") || ws[0].Retry == nil || ws[0].Retry.Count != 2 {
		t.Errorf("stored: %+v", ws)
	}
}

func TestPoolsAreIsolated(t *testing.T) {
	g := start(t, nil)
	a, b := g.mint(t), g.mint(t)
	ta, tb := g.token(t, a), g.token(t, b)
	_, e := g.call(t, ta, a.Field("userPoolId"), "POST", "/api/v3/create-webhook", `{"name":"n","url":"https://a.example.com","events":["login"],"contentType":"application/json"}`)
	var w struct{ WebhookID string }
	_ = json.Unmarshal(e.Data, &w)
	if _, e = g.call(t, tb, b.Field("userPoolId"), "GET", "/api/v3/get-webhook?webhookId="+w.WebhookID, ""); e.StatusCode != 404 {
		t.Errorf("pool b reads pool a's webhook: %+v", e)
	}
	if _, e = g.call(t, tb, b.Field("userPoolId"), "POST", "/api/v3/delete-webhook", `{"webhookIds":["`+w.WebhookID+`"]}`); e.StatusCode != 200 {
		t.Fatalf("delete: %+v", e)
	}
	if _, e = g.call(t, ta, a.Field("userPoolId"), "GET", "/api/v3/get-webhook?webhookId="+w.WebhookID, ""); e.StatusCode != 200 {
		t.Errorf("pool b deleted pool a's webhook: %+v", e)
	}
	if _, e = g.call(t, tb, b.Field("userPoolId"), "GET", "/api/v3/list-webhooks", ""); !strings.Contains(string(e.Data), `"totalCount":0`) {
		t.Errorf("pool b lists: %s", e.Data)
	}
	// Another dialect's webhook in the same "owner" is invisible.
	if err := g.db.CreateWebhook(context.Background(), &store.Webhook{Dialect: "nursa", Owner: a.Field("userPoolId"), ExternalID: "aaaaaaaaaaaaaaaaaaaaaaaa", URL: "https://n.example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, e = g.call(t, ta, a.Field("userPoolId"), "GET", "/api/v3/get-webhook?webhookId=aaaaaaaaaaaaaaaaaaaaaaaa", ""); e.StatusCode != 404 {
		t.Errorf("another dialect's webhook: %+v", e)
	}
}

func TestDeliveryLogsAndFormat(t *testing.T) {
	g := start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := g.engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer g.engine.Stop(context.Background())
	m := g.mint(t)
	tok := g.token(t, m)
	rcv, got := receiver(t)
	_, e := g.call(t, tok, m.Field("userPoolId"), "POST", "/api/v3/create-webhook", `{"name":"f","url":"`+rcv.URL+`","events":["user:created"],"contentType":"application/x-www-form-urlencoded","secret":"k"}`)
	var w struct{ WebhookID string }
	_ = json.Unmarshal(e.Data, &w)
	ev, _, err := g.engine.Publish(context.Background(), delivery.PublishInput{Type: "user.created", Tenant: m.Field("userPoolId"), Data: json.RawMessage(`{"userId":"u1","n":[1,2]}`)})
	if err != nil || ev.Deliveries != 1 {
		t.Fatalf("publish: %+v %v", ev, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	hs := got()
	if len(hs) != 1 || hs[0].Get("Content-Type") != "application/x-www-form-urlencoded" || hs[0].Get("X-Test-Body") != "data=%7B%22userId%22%3A%22u1%22%2C%22n%22%3A%5B1%2C2%5D%7D&eventName=user%3Acreated" {
		t.Fatalf("form delivery: %v", hs)
	}
	for time.Now().Before(deadline) {
		if _, e = g.call(t, tok, m.Field("userPoolId"), "POST", "/api/v3/get-webhook-logs", `{"webhookId":"`+w.WebhookID+`","page":1,"limit":10}`); strings.Contains(string(e.Data), `"totalCount":1`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var logs struct {
		TotalCount int
		List       []map[string]any
	}
	if err := json.Unmarshal(e.Data, &logs); err != nil || logs.TotalCount != 1 {
		t.Fatalf("logs: %s", e.Data)
	}
	l := logs.List[0]
	headers, _ := l["requestHeaders"].(map[string]any)
	if l["eventName"] != "user:created" || l["success"] != true || l["responseStatusCode"] != 200.0 || headers["X-Authing-Webhook-Secret"] != "[redacted]" {
		t.Errorf("log entry: %v", l)
	}
}

// TestTriggerNamesTheSameBadHeader: of several header values trigger-webhook cannot send,
// the message names the same one (the first by name) on every run.
func TestTriggerNamesTheSameBadHeader(t *testing.T) {
	g := start(t, nil)
	m := g.mint(t)
	tok := g.token(t, m)
	_, e := g.call(t, tok, m.Field("userPoolId"), "POST", "/api/v3/create-webhook", `{"name":"n","url":"https://example.com/a","events":["user:created"],"contentType":"application/json"}`)
	var w struct{ WebhookID string }
	if err := json.Unmarshal(e.Data, &w); err != nil || e.StatusCode != 200 {
		t.Fatalf("create: %+v", e)
	}
	body := `{"webhookId":"` + w.WebhookID + `","requestHeaders":{"X-D":"a\nb","X-B":"a\nb","X-C":7,"X-A":"a\nb","X-E":"a\nb"}}`
	for i := 0; i < 20; i++ {
		if _, e := g.call(t, tok, m.Field("userPoolId"), "POST", "/api/v3/trigger-webhook", body); e.StatusCode != 400 || e.Message != `requestHeaders["X-A"] must be a string header value.` {
			t.Fatalf("run %d: %+v", i, e)
		}
	}
}
