package native_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/gateway"
	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/native"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

const token = "test-admin-token-0123456789abcdef"

func TestContract(t *testing.T) {
	db := storetest.Open(t)
	keys, _ := server.NewKeys("native-test-master-key")
	log := servertest.Logger(t)
	deps := server.Deps{DB: db, Keys: keys, Log: log}
	engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log, Sender: delivery.SenderOptions{AllowPrivateTargets: true}})
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.New(gateway.Config{Deps: deps, Engine: engine, TokenHash: store.HashSecret(token)})
	url := servertest.Serve(t, srv)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	c := servertest.NewContract(t, spec, url)
	do := func(method, path, body string, auth ...string) (int, []byte) {
		t.Helper()
		if auth == nil {
			auth = []string{"Authorization", "Bearer " + token}
		}
		resp, b := c.Do(t, servertest.Request(t, method, url+path, body, auth...))
		return resp.StatusCode, b
	}
	errCode := func(b []byte) string {
		var e api.Error
		_ = json.Unmarshal(b, &e)
		return string(e.Error.Code)
	}

	// Mint a FusionAuth key and use it against the FusionAuth API.
	status, b := do("POST", "/v1/credentials", `{"dialect":"fusionauth","name":"ci"}`)
	var minted api.NewCredential
	if err := json.Unmarshal(b, &minted); status != 201 || err != nil || minted.AdditionalProperties["apiKey"] == nil || *minted.Name != "ci" {
		t.Fatalf("mint: %d %s", status, b)
	}
	req := servertest.Request(t, "POST", url+"/api/webhook", `{"webhook":{"url":"https://example.com/n","connectTimeout":1,"readTimeout":1,"eventsEnabled":{"user.create":true},"global":true}}`, "Authorization", minted.AdditionalProperties["apiKey"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the minted key is refused: %v %v", resp, err)
	}
	resp.Body.Close()
	// The secret is stored hashed only.
	cred, err := db.CredentialBySecret(context.Background(), "fusionauth", minted.AdditionalProperties["apiKey"].(string))
	if err != nil || cred.SecretHash == minted.AdditionalProperties["apiKey"].(string) || cred.SecretSealed != "" {
		t.Errorf("stored credential: %+v %v", cred, err)
	}

	for _, bad := range []string{`{"dialect":"mailchimp"}`, `{"dialect":"fusionauth","projectIds":["7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80"]}`, `nope`} {
		if status, b = do("POST", "/v1/credentials", bad); status != 400 || errCode(b) != "invalid" {
			t.Errorf("mint %s: %d %s", bad, status, b)
		}
	}
	if status, b = do("POST", "/v1/credentials", `{"dialect":"fusionauth"}`, "Authorization", "Bearer wrong"); status != 401 || errCode(b) != "unauthorized" {
		t.Errorf("mint with a wrong token: %d %s", status, b)
	}

	// List credentials: no secrets.
	status, b = do("GET", "/v1/credentials?dialect=fusionauth", "")
	var list struct{ Credentials []map[string]any }
	if err := json.Unmarshal(b, &list); status != 200 || err != nil || len(list.Credentials) != 1 || list.Credentials[0]["apiKey"] != nil {
		t.Errorf("list credentials: %d %s", status, b)
	}
	if status, _ = do("GET", "/v1/credentials?dialect=nope", ""); status != 400 {
		t.Errorf("list credentials of an unknown dialect: %d", status)
	}
	if status, _ = do("GET", "/v1/credentials", "", "Authorization", token); status != 401 {
		t.Errorf("list credentials without Bearer: %d", status)
	}

	// Webhooks of every dialect in one shape.
	if err := db.CreateWebhook(context.Background(), &store.Webhook{Dialect: "nursa", Owner: "client-1", ExternalID: "n-1", URL: "https://nursa.example.com", Events: []string{"all"}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	status, b = do("GET", "/v1/webhooks", "")
	var hooks struct {
		Total    int
		Webhooks []api.Webhook
	}
	if err := json.Unmarshal(b, &hooks); status != 200 || err != nil || hooks.Total != 2 {
		t.Fatalf("list webhooks: %d %s", status, b)
	}
	byDialect := map[api.Dialect]api.Webhook{}
	for _, w := range hooks.Webhooks {
		byDialect[w.Dialect] = w
	}
	if fa := byDialect["fusionauth"]; !fa.Scope.Global || len(fa.Events) != 1 || fa.Events[0] != "user.create" {
		t.Errorf("fusionauth webhook: %+v", fa)
	}
	if nu := byDialect["nursa"]; nu.Scope.Owner == nil || *nu.Scope.Owner != "client-1" || nu.ExternalId != "n-1" {
		t.Errorf("nursa webhook: %+v", nu)
	}
	if status, b = do("GET", "/v1/webhooks?dialect=nursa&limit=1", ""); status != 200 || json.Unmarshal(b, &hooks) != nil || hooks.Total != 1 {
		t.Errorf("filter by dialect: %d %s", status, b)
	}
	for _, q := range []string{"limit=0", "limit=x", "offset=-1", "dialect=zapier"} {
		if status, _ = do("GET", "/v1/webhooks?"+q, ""); status != 400 {
			t.Errorf("list webhooks ?%s: %d", q, status)
		}
	}
	if status, _ = do("GET", "/v1/webhooks", "", "X-Other", "x"); status != 401 {
		t.Errorf("list webhooks without a token: %d", status)
	}

	// The webhook's signing secrets: shown, and rotated with a grace period.
	faID := byDialect["fusionauth"].Id
	status, b = do("GET", "/v1/webhooks/"+faID+"/secrets", "")
	var secrets struct {
		Secrets []struct {
			Secret    string
			ExpiresAt *time.Time
		}
	}
	if err := json.Unmarshal(b, &secrets); status != 200 || err != nil || len(secrets.Secrets) != 1 || !strings.HasPrefix(secrets.Secrets[0].Secret, "whsec_") {
		t.Fatalf("secrets: %d %s", status, b)
	}
	first := secrets.Secrets[0].Secret
	status, b = do("POST", "/v1/webhooks/"+faID+"/secrets/rotate", `{"graceSeconds":3600}`)
	if err := json.Unmarshal(b, &secrets); status != 200 || err != nil || len(secrets.Secrets) != 2 ||
		secrets.Secrets[1].Secret != first || secrets.Secrets[1].ExpiresAt == nil || secrets.Secrets[0].ExpiresAt != nil {
		t.Errorf("rotate with grace: %d %s", status, b)
	}
	if status, _ = do("POST", "/v1/webhooks/"+faID+"/secrets/rotate", `{"graceSeconds":-1}`); status != 400 {
		t.Errorf("rotate with a negative grace: %d", status)
	}
	if status, b = do("POST", "/v1/webhooks/"+faID+"/secrets/rotate", `{"graceSeconds":0}`); status != 200 || json.Unmarshal(b, &secrets) != nil || len(secrets.Secrets) != 1 {
		t.Errorf("rotate without grace: %d %s", status, b)
	}
	for _, p := range []string{"/v1/webhooks/nope/secrets", "/v1/webhooks/nope/secrets/rotate"} {
		method := map[bool]string{true: "POST", false: "GET"}[strings.HasSuffix(p, "rotate")]
		if status, _ = do(method, p, ""); status != 404 {
			t.Errorf("%s %s: %d", method, p, status)
		}
		if status, _ = do(method, p, "", "Authorization", "Bearer no"); status != 401 {
			t.Errorf("%s %s without the token: %d", method, p, status)
		}
	}

	exerciseWebhookRoutes(t, do, faID)
	exerciseCircuit(t, do, db, faID)
	exerciseRateLimitRoutes(t, do)
	exerciseOrderedRoutes(t, do)
	sources(t, c, url)

	// Event types, publish (idempotent), the event and its delivery.
	status, b = do("GET", "/v1/event-types", "")
	if status != 200 || !strings.Contains(string(b), `"user.created"`) || !strings.Contains(string(b), `"user.create"`) {
		t.Errorf("event types: %d %s", status, b)
	}
	if status, _ = do("GET", "/v1/event-types", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("event types without the token: %d", status)
	}
	status, b = do("POST", "/v1/events", `{"id":"evt-native-1","type":"user.created","tenant":"7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80","data":{"user":{"id":"u1"}}}`)
	var ev api.Event
	if err := json.Unmarshal(b, &ev); status != 201 || err != nil || ev.Id != "evt-native-1" || ev.Deliveries != 1 {
		t.Fatalf("publish: %d %s", status, b)
	}
	if status, b = do("POST", "/v1/events", `{"id":"evt-native-1","type":"user.deleted"}`); status != 200 || json.Unmarshal(b, &ev) != nil || ev.Type != "user.created" {
		t.Errorf("publish the same id again: %d %s", status, b)
	}
	for _, bad := range []string{`{"type":"user.exploded"}`, `{"type":"user.created","data":[1]}`, `{}`, `[`} {
		if status, b = do("POST", "/v1/events", bad); status != 400 || errCode(b) != "invalid" {
			t.Errorf("publish %s: %d %s", bad, status, b)
		}
	}
	if status, _ = do("POST", "/v1/events", `{"type":"user.created"}`, "Authorization", "Bearer no"); status != 401 {
		t.Errorf("publish without the token: %d", status)
	}
	status, b = do("GET", "/v1/events/evt-native-1", "")
	var withDeliveries struct {
		DeliveryList []api.Delivery
	}
	if err := json.Unmarshal(b, &withDeliveries); status != 200 || err != nil || len(withDeliveries.DeliveryList) != 1 || withDeliveries.DeliveryList[0].EventName != "user.create" {
		t.Fatalf("get event: %d %s", status, b)
	}
	if status, _ = do("GET", "/v1/events/nope", ""); status != 404 {
		t.Errorf("get an unknown event: %d", status)
	}
	if status, _ = do("GET", "/v1/events/evt-native-1", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("get event without the token: %d", status)
	}
	status, b = do("GET", "/v1/deliveries/"+withDeliveries.DeliveryList[0].Id, "")
	if status != 200 || !strings.Contains(string(b), `"attemptList":[`) {
		t.Errorf("get delivery: %d %s", status, b)
	}
	// List, retry, enable.
	dID := withDeliveries.DeliveryList[0].Id
	if status, b = do("GET", "/v1/deliveries?eventId=evt-native-1&status=pending&dialect=fusionauth&limit=5", ""); status != 200 || !strings.Contains(string(b), dID) || !strings.Contains(string(b), `"total":1`) {
		t.Errorf("list deliveries: %d %s", status, b)
	}
	if status, b = do("GET", "/v1/deliveries?status=failed", ""); status != 200 || !strings.Contains(string(b), `"total":0`) {
		t.Errorf("list failed deliveries: %d %s", status, b)
	}
	for _, q := range []string{"status=lost", "limit=0", "since=yesterday", "dialect=x"} {
		if status, _ = do("GET", "/v1/deliveries?"+q, ""); status != 400 {
			t.Errorf("list deliveries ?%s: %d", q, status)
		}
	}
	if status, _ = do("GET", "/v1/deliveries", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("list deliveries without the token: %d", status)
	}
	if status, b = do("POST", "/v1/deliveries/"+dID+"/retry", ""); status != 409 || errCode(b) != "conflict" {
		t.Errorf("retry a pending delivery: %d %s", status, b)
	}
	if err := storetest.SetDeliveryStatus(context.Background(), db, dID, store.DeliveryFailed, "gave up"); err != nil {
		t.Fatal(err)
	}
	if status, b = do("POST", "/v1/deliveries/"+dID+"/retry", ""); status != 202 || !strings.Contains(string(b), `"status":"pending"`) {
		t.Errorf("retry: %d %s", status, b)
	}
	if status, _ = do("POST", "/v1/deliveries/nope/retry", ""); status != 404 {
		t.Errorf("retry unknown: %d", status)
	}
	if status, _ = do("POST", "/v1/deliveries/"+dID+"/retry", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("retry without the token: %d", status)
	}
	if err := db.DisableWebhook(context.Background(), faID, "answered 410"); err != nil {
		t.Fatal(err)
	}
	if status, b = do("GET", "/v1/webhooks?dialect=fusionauth", ""); !strings.Contains(string(b), `"disabledReason":"answered 410"`) {
		t.Errorf("disabled state not shown: %s", b)
	}
	if status, _ = do("POST", "/v1/webhooks/"+faID+"/enable", ""); status != 204 {
		t.Errorf("enable: %d", status)
	}
	if status, b = do("GET", "/v1/webhooks?dialect=fusionauth", ""); strings.Contains(string(b), `disabledAt`) {
		t.Errorf("still disabled after enable: %s", b)
	}
	if status, _ = do("POST", "/v1/webhooks/nope/enable", ""); status != 404 {
		t.Errorf("enable unknown: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/"+faID+"/enable", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("enable without the token: %d", status)
	}
	exerciseDashboardRoutes(t, do, faID)
	// Events list, recovery, test send.
	if status, b = do("GET", "/v1/events?type=user.created&limit=10", ""); status != 200 || !strings.Contains(string(b), "evt-native-1") {
		t.Errorf("list events: %d %s", status, b)
	}
	if status, _ = do("GET", "/v1/events?since=nope", ""); status != 400 {
		t.Errorf("list events with a bad time: %d", status)
	}
	if status, _ = do("GET", "/v1/events", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("list events without the token: %d", status)
	}
	status, b = do("POST", "/v1/webhooks/"+faID+"/recover", `{"since":"2020-01-01T00:00:00Z"}`)
	var rec api.Recovery
	if err := json.Unmarshal(b, &rec); status != 202 || err != nil || rec.Status != "running" {
		t.Fatalf("recover: %d %s", status, b)
	}
	status, b = do("POST", "/v1/webhooks/"+faID+"/recover", `{"since":"2020-01-01T00:00:00Z","includeRetrying":true}`)
	var recAll api.Recovery
	if err := json.Unmarshal(b, &recAll); status != 202 || err != nil || !recAll.IncludeRetrying || rec.IncludeRetrying {
		t.Errorf("recover including retrying: %d %s", status, b)
	}
	if status, b = do("POST", "/v1/webhooks/"+faID+"/recover", `{"since":"2020-01-01T00:00:00Z","includeRetrying":"yes"}`); status != 400 {
		t.Errorf("recover with includeRetrying not a boolean: %d %s", status, b)
	}
	if status, _ = do("GET", "/v1/recoveries/"+rec.Id, ""); status != 200 {
		t.Errorf("get recovery: %d", status)
	}
	if status, _ = do("GET", "/v1/recoveries/nope", ""); status != 404 {
		t.Errorf("get unknown recovery: %d", status)
	}
	if status, _ = do("GET", "/v1/recoveries/"+rec.Id, "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("get recovery without the token: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/"+faID+"/recover", `{}`); status != 400 {
		t.Errorf("recover without since: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/nope/recover", `{"since":"2020-01-01T00:00:00Z"}`); status != 404 {
		t.Errorf("recover unknown: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/"+faID+"/recover", `{"since":"2020-01-01T00:00:00Z"}`, "Authorization", "Bearer no"); status != 401 {
		t.Errorf("recover without the token: %d", status)
	}
	_ = db.DisableWebhook(context.Background(), faID, "gone")
	if status, b = do("POST", "/v1/webhooks/"+faID+"/recover", `{"since":"2020-01-01T00:00:00Z"}`); status != 409 {
		t.Errorf("recover a disabled webhook: %d %s", status, b)
	}
	_ = db.EnableWebhook(context.Background(), faID)
	// The test send goes to example.com, which the test must not reach: the SSRF guard
	// is off here, so point the webhook at a local receiver first. The webhook was made
	// with FusionAuth timeouts of 1 ms, which a loaded machine's loopback can miss: give
	// it a second each.
	rcv := servertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("pong")) }))
	faw, _ := db.WebhookByID(context.Background(), faID)
	fakey := store.WebhookKey{Dialect: faw.Dialect, Owner: faw.Owner, ExternalID: faw.ExternalID}
	if _, err := db.UpdateWebhook(context.Background(), fakey, func(w *store.Webhook) error {
		w.URL, w.ConnectTimeout, w.ReadTimeout = rcv+"/t", 1000, 1000
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if status, b = do("POST", "/v1/webhooks/"+faID+"/test", ""); status != 200 || !strings.Contains(string(b), `"success":true`) || !strings.Contains(string(b), `"body":"pong"`) {
		t.Errorf("test send: %d %s", status, b)
	}
	if status, _ = do("POST", "/v1/webhooks/"+faID+"/test", `{"eventName":"user.exploded"}`); status != 200 {
		t.Errorf("test send with another event name: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/"+faID+"/test", `[`); status != 400 {
		t.Errorf("test send with a bad body: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/nope/test", ""); status != 404 {
		t.Errorf("test send to an unknown webhook: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/"+faID+"/test", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("test send without the token: %d", status)
	}
	if status, _ = do("GET", "/v1/deliveries/nope", ""); status != 404 {
		t.Errorf("get an unknown delivery: %d", status)
	}
	if status, _ = do("GET", "/v1/deliveries/nope", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("get delivery without the token: %d", status)
	}

	// Signing keys for FusionAuth webhooks.
	status, b = do("POST", "/v1/keys", `{"name":"rsa","algorithm":"RS256"}`)
	var rsaKey struct{ ID, Kid, PublicKey, Secret string }
	if err := json.Unmarshal(b, &rsaKey); status != 201 || err != nil || !strings.HasPrefix(rsaKey.PublicKey, "-----BEGIN PUBLIC KEY-----") || rsaKey.Secret != "" {
		t.Fatalf("create RSA key: %d %s", status, b)
	}
	status, b = do("POST", "/v1/keys", `{"algorithm":"HS512"}`)
	var hmacKey struct{ ID, Secret, PublicKey string }
	if err := json.Unmarshal(b, &hmacKey); status != 201 || err != nil || hmacKey.Secret == "" || hmacKey.PublicKey != "" {
		t.Fatalf("create HMAC key: %d %s", status, b)
	}
	for _, bad := range []string{`{"algorithm":"none"}`, `{}`, `x`} {
		if status, _ = do("POST", "/v1/keys", bad); status != 400 {
			t.Errorf("create key %s: %d", bad, status)
		}
	}
	if status, _ = do("POST", "/v1/keys", `{"algorithm":"ES256"}`, "Authorization", "Bearer no"); status != 401 {
		t.Errorf("create key without the token: %d", status)
	}
	status, b = do("GET", "/v1/keys", "")
	if status != 200 || strings.Contains(string(b), hmacKey.Secret) || !strings.Contains(string(b), rsaKey.Kid) {
		t.Errorf("list keys (no secrets): %d %s", status, b)
	}
	if status, _ = do("GET", "/v1/keys", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("list keys without the token: %d", status)
	}
	jwks, err := http.Get(url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := io.ReadAll(jwks.Body)
	jwks.Body.Close()
	if !strings.Contains(string(jb), rsaKey.Kid) || strings.Contains(string(jb), hmacKey.ID) {
		t.Errorf("jwks: %s", jb)
	}
	// A key a webhook signs with cannot be deleted.
	req = servertest.Request(t, "POST", url+"/api/webhook", `{"webhook":{"url":"https://example.com/signed","connectTimeout":1,"readTimeout":1,"signatureConfiguration":{"enabled":true,"signingKeyId":"`+rsaKey.ID+`"}}}`, "Authorization", minted.AdditionalProperties["apiKey"].(string))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("webhook signing with the new key: %v %v", resp, err)
	}
	if status, b = do("DELETE", "/v1/keys/"+rsaKey.ID, ""); status != 409 || errCode(b) != "conflict" {
		t.Errorf("delete a key in use: %d %s", status, b)
	}
	if status, _ = do("DELETE", "/v1/keys/"+hmacKey.ID, ""); status != 204 {
		t.Errorf("delete a key: %d", status)
	}
	if status, _ = do("DELETE", "/v1/keys/"+hmacKey.ID, ""); status != 404 {
		t.Errorf("delete a key again: %d", status)
	}
	if status, _ = do("DELETE", "/v1/keys/"+rsaKey.ID, "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("delete a key without the token: %d", status)
	}

	// Revoke: the key stops working.
	if status, b = do("DELETE", "/v1/credentials/"+minted.Id, ""); status != 204 || len(b) != 0 {
		t.Errorf("revoke: %d %s", status, b)
	}
	if status, _ = do("DELETE", "/v1/credentials/"+minted.Id, ""); status != 404 {
		t.Errorf("revoke again: %d", status)
	}
	if status, _ = do("DELETE", "/v1/credentials/"+minted.Id, "", "Authorization", "Bearer x"); status != 401 {
		t.Errorf("revoke without the token: %d", status)
	}
	resp, err = http.DefaultClient.Do(servertest.Request(t, "GET", url+"/api/webhook", "", "Authorization", minted.AdditionalProperties["apiKey"].(string)))
	if err != nil || resp.StatusCode != 401 {
		t.Errorf("revoked key still works: %v %v", resp, err)
	}
	// Probes need no token.
	if status, b = do("GET", "/healthz", "", "X-None", ""); status != 200 || !strings.Contains(string(b), `"ok"`) {
		t.Errorf("healthz: %d %s", status, b)
	}
	if status, _ = do("GET", "/readyz", "", "X-None", ""); status != 200 {
		t.Errorf("readyz: %d", status)
	}
	db.Close() // the database goes away
	if status, b = do("GET", "/readyz", "", "X-None", ""); status != 503 || !strings.Contains(string(b), "unavailable") {
		t.Errorf("readyz without a database: %d %s", status, b)
	}
	hardening(t, c)
	consoleRoutes(t, c)
	validatedEvents(t, c)
	c.RequireAllExercised(t)
}

func TestAdminToken(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	hash, generated, err := native.AdminToken(ctx, db, "")
	if err != nil || generated == "" || hash != store.HashSecret(generated) {
		t.Fatalf("first start: %q %q %v", hash, generated, err)
	}
	again, shown, err := native.AdminToken(ctx, db, "")
	if err != nil || shown != "" || again != hash {
		t.Errorf("second start must reuse the stored token without showing it: %q %q %v", again, shown, err)
	}
	configured, shown, err := native.AdminToken(ctx, db, "mine")
	if err != nil || shown != "" || configured != store.HashSecret("mine") {
		t.Errorf("configured token: %q %q %v", configured, shown, err)
	}
}
