package native_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server/native"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// doFunc sends one request through a contract and returns the status and body; auth
// replaces the admin token's Authorization header when given.
type doFunc func(method, path, body string, auth ...string) (int, []byte)

// exerciseWebhookRoutes drives every status of the /v1/webhooks routes that create,
// show, change, disable and delete webhooks. vendorID is a webhook of a vendor dialect,
// which /v1 may show, disable and enable but not change. It leaves vendorID enabled and
// returns nothing it created.
func exerciseWebhookRoutes(t *testing.T, do doFunc, vendorID string) {
	t.Helper()
	noAuth := []string{"Authorization", "Bearer wrong"}
	status, b := do("POST", "/v1/webhooks", `{"url":"https://example.com/hook","events":["user.created","user.deleted","user.created"],"description":"crm","headers":{"X-Team":"growth"}}`)
	var created struct {
		api.Webhook
		Secret string
	}
	if err := json.Unmarshal(b, &created); status != 201 || err != nil || created.Dialect != native.Dialect ||
		!strings.HasPrefix(created.Secret, "whsec_") || len(created.Events) != 2 || !created.Scope.Global || !created.Enabled {
		t.Fatalf("create: %d %s", status, b)
	}
	id := created.Id
	for _, bad := range []string{
		`{"url":"ftp://example.com","events":["user.created"]}`,
		`{"url":"/relative","events":["user.created"]}`,
		`{"url":"https://user:pw@example.com","events":["user.created"]}`,
		`{"url":"https://example.com","events":["user.exploded"]}`,
		`{"url":"https://example.com","events":["fusionauth:user.create"]}`,
		`{"url":"https://example.com","events":[]}`,
		`{"url":"https://example.com"}`,
		`{"url":"https://example.com","events":["user.created"],"headers":{"webhook-signature":"forged"}}`,
		`{"url":"https://example.com","events":["user.created"],"headers":{"Bad Name":"x"}}`,
		`{"url":"https://example.com","events":["user.created"],"tenant":"` + strings.Repeat("t", 129) + `"}`,
		`[`,
	} {
		if status, b = do("POST", "/v1/webhooks", bad); status != 400 || !strings.Contains(string(b), `"code":"invalid"`) {
			t.Errorf("create %s: %d %s", bad, status, b)
		}
	}
	if status, _ = do("POST", "/v1/webhooks", `{"url":"https://example.com","events":["user.created"]}`, noAuth...); status != 401 {
		t.Errorf("create without the token: %d", status)
	}
	// The id works on the other /v1/webhooks routes.
	if status, b = do("GET", "/v1/webhooks/"+id+"/secrets", ""); status != 200 || !strings.Contains(string(b), created.Secret) {
		t.Errorf("secrets of a standard webhook: %d %s", status, b)
	}
	if status, b = do("GET", "/v1/webhooks?dialect=standard", ""); status != 200 || !strings.Contains(string(b), id) {
		t.Errorf("list standard webhooks: %d %s", status, b)
	}
	if status, b = do("GET", "/v1/webhooks/"+id, ""); status != 200 || !strings.Contains(string(b), `"description":"crm"`) || strings.Contains(string(b), "whsec_") {
		t.Errorf("get: %d %s", status, b)
	}
	if status, _ = do("GET", "/v1/webhooks/nope", ""); status != 404 {
		t.Errorf("get unknown: %d", status)
	}
	if status, _ = do("GET", "/v1/webhooks/"+id, "", noAuth...); status != 401 {
		t.Errorf("get without the token: %d", status)
	}

	// Change: only what is given.
	status, b = do("PATCH", "/v1/webhooks/"+id, `{"events":["user.updated"],"url":"https://example.com/v2"}`)
	var changed api.Webhook
	if err := json.Unmarshal(b, &changed); status != 200 || err != nil || changed.Url != "https://example.com/v2" ||
		len(changed.Events) != 1 || changed.Events[0] != "user.updated" || changed.Description == nil || *changed.Description != "crm" {
		t.Errorf("patch: %d %s", status, b)
	}
	for _, bad := range []string{`{"events":["nope"]}`, `{"url":"mailto:a@b"}`, `{"events":[]}`, `x`} {
		if status, b = do("PATCH", "/v1/webhooks/"+id, bad); status != 400 {
			t.Errorf("patch %s: %d %s", bad, status, b)
		}
	}
	if status, b = do("PATCH", "/v1/webhooks/"+vendorID, `{"description":"x"}`); status != 409 || !strings.Contains(string(b), `"code":"conflict"`) {
		t.Errorf("patch a vendor dialect's webhook: %d %s", status, b)
	}
	if status, _ = do("PATCH", "/v1/webhooks/nope", `{}`); status != 404 {
		t.Errorf("patch unknown: %d", status)
	}
	if status, _ = do("PATCH", "/v1/webhooks/"+id, `{}`, noAuth...); status != 401 {
		t.Errorf("patch without the token: %d", status)
	}

	// Disable and enable, for a vendor's webhook too.
	for _, wid := range []string{id, vendorID} {
		if status, b = do("POST", "/v1/webhooks/"+wid+"/disable", ""); status != 204 || len(b) != 0 {
			t.Errorf("disable %s: %d %s", wid, status, b)
		}
		if status, b = do("GET", "/v1/webhooks/"+wid, ""); !strings.Contains(string(b), `"disabledReason":"Disabled by an operator."`) {
			t.Errorf("disabled state of %s not shown: %s", wid, b)
		}
		if status, _ = do("POST", "/v1/webhooks/"+wid+"/enable", ""); status != 204 {
			t.Errorf("enable %s: %d", wid, status)
		}
		if status, b = do("GET", "/v1/webhooks/"+wid, ""); strings.Contains(string(b), "disabledAt") {
			t.Errorf("%s still disabled after enable: %s", wid, b)
		}
	}
	if status, _ = do("POST", "/v1/webhooks/nope/disable", ""); status != 404 {
		t.Errorf("disable unknown: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/"+id+"/disable", "", noAuth...); status != 401 {
		t.Errorf("disable without the token: %d", status)
	}

	// Delete.
	if status, _ = do("DELETE", "/v1/webhooks/"+id, "", noAuth...); status != 401 {
		t.Errorf("delete without the token: %d", status)
	}
	if status, b = do("DELETE", "/v1/webhooks/"+id, ""); status != 204 || len(b) != 0 {
		t.Errorf("delete: %d %s", status, b)
	}
	if status, _ = do("DELETE", "/v1/webhooks/"+id, ""); status != 404 {
		t.Errorf("delete again: %d", status)
	}
	if status, _ = do("GET", "/v1/webhooks/"+id, ""); status != 404 {
		t.Errorf("get a deleted webhook: %d", status)
	}
}

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
}

// A native subscription receives the canonical events it lists, of its tenant, in the
// Standard Webhooks format, verified by the reference library; an operator can delete a
// vendor dialect's webhook through /v1.
func TestStandardSubscriptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		url := startGateway(t, db)
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
		got := make(chan received, 16)
		rcv := servertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- received{r.Header.Clone(), b}
		}))

		vendor := &store.Webhook{Dialect: "nursa", Owner: "client-1", ExternalID: "n-1", URL: rcv + "/nursa", Events: []string{"all"}, Enabled: true}
		if err := db.CreateWebhook(ctx, vendor); err != nil {
			t.Fatal(err)
		}
		exerciseWebhookRoutes(t, do, vendor.ID)

		status, b := do("POST", "/v1/webhooks", `{"url":"`+rcv+`/std","events":["user.created","group.created"],"tenant":"acme","headers":{"X-Team":"growth"}}`)
		var created struct {
			api.Webhook
			Secret string
		}
		if err := json.Unmarshal(b, &created); status != 201 || err != nil || created.Scope.Global || created.Scope.Owner == nil || *created.Scope.Owner != "acme" {
			t.Fatalf("create: %d %s", status, b)
		}
		publish := func(body string) api.Event {
			t.Helper()
			status, b := do("POST", "/v1/events", body)
			var ev api.Event
			if err := json.Unmarshal(b, &ev); status != 201 || err != nil {
				t.Fatalf("publish %s: %d %s", body, status, b)
			}
			return ev
		}
		// Not subscribed, or another tenant's: nothing.
		if ev := publish(`{"type":"user.deleted","tenant":"acme"}`); ev.Deliveries != 0 {
			t.Errorf("an event the webhook does not list made %d deliveries", ev.Deliveries)
		}
		if ev := publish(`{"type":"user.created","tenant":"other"}`); ev.Deliveries != 0 {
			t.Errorf("another tenant's event made %d deliveries", ev.Deliveries)
		}
		at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		ev := publish(`{"type":"user.created","tenant":"acme","occurredAt":"` + at.Format(time.RFC3339) + `","data":{"user":{"id":"u1","n":12345678901234567890}}}`)
		if ev.Deliveries != 1 {
			t.Fatalf("a subscribed event made %d deliveries", ev.Deliveries)
		}
		var r received
		select {
		case r = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery")
		}
		wh, err := standardwebhooks.NewWebhook(created.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("the reference library rejects the delivery: %v\n%v", err, r.header)
		}
		want := `{"type":"user.created","timestamp":"2026-11-30T12:00:00Z","data":{"user":{"id":"u1","n":12345678901234567890}}}`
		if string(r.body) != want {
			t.Errorf("body\n got %s\nwant %s", r.body, want)
		}
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Team") != "growth" {
			t.Errorf("headers: %v", r.header)
		}
		var payload struct {
			Type      string
			Timestamp time.Time
		}
		if err := json.Unmarshal(r.body, &payload); err != nil || !payload.Timestamp.Equal(at) {
			t.Errorf("timestamp is not RFC 3339: %s %v", r.body, err)
		}
		// "standard:<canonical>" is the same event.
		if ev := publish(`{"type":"standard:group.created","tenant":"acme"}`); ev.Deliveries != 1 {
			t.Errorf("standard:group.created made %d deliveries", ev.Deliveries)
		}
		select {
		case r = <-got:
			if !strings.HasPrefix(string(r.body), `{"type":"group.created",`) {
				t.Errorf("body: %s", r.body)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery of standard:group.created")
		}
		// The other /v1/webhooks/{id} routes work on it: a test send in its format, signed
		// with the rotated secrets, and a recovery.
		status, b = do("POST", "/v1/webhooks/"+created.Id+"/secrets/rotate", `{"graceSeconds":60}`)
		var rotated struct{ Secrets []struct{ Secret string } }
		if err := json.Unmarshal(b, &rotated); status != 200 || err != nil || len(rotated.Secrets) != 2 {
			t.Fatalf("rotate: %d %s", status, b)
		}
		if status, b = do("POST", "/v1/webhooks/"+created.Id+"/test", `{"data":{"ping":1}}`); status != 200 || !strings.Contains(string(b), `"success":true`) {
			t.Errorf("test send: %d %s", status, b)
		}
		select {
		case r = <-got:
			if !strings.HasPrefix(string(r.body), `{"type":"user.created","timestamp":"`) || !strings.HasSuffix(string(r.body), `"data":{"ping":1}}`) {
				t.Errorf("test send body: %s", r.body)
			}
			for _, s := range rotated.Secrets {
				wh, _ := standardwebhooks.NewWebhook(s.Secret)
				if err := wh.Verify(r.body, r.header); err != nil {
					t.Errorf("the test send does not verify with %s…: %v", s.Secret[:10], err)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no test send")
		}
		if status, b = do("POST", "/v1/webhooks/"+created.Id+"/recover", `{"since":"2020-01-01T00:00:00Z"}`); status != 202 {
			t.Errorf("recover: %d %s", status, b)
		}
		// The catalogue lists the standard names.
		if _, b = do("GET", "/v1/event-types", ""); !strings.Contains(string(b), `"standard":["user.created"]`) {
			t.Errorf("event types lack the standard dialect: %s", b)
		}
		// A disabled webhook gets nothing new.
		if status, _ = do("POST", "/v1/webhooks/"+created.Id+"/disable", ""); status != 204 {
			t.Fatalf("disable: %d", status)
		}
		if ev := publish(`{"type":"user.created","tenant":"acme"}`); ev.Deliveries != 0 {
			t.Errorf("a disabled webhook got %d deliveries", ev.Deliveries)
		}
		// An operator deletes a vendor's webhook through /v1.
		if status, _ = do("DELETE", "/v1/webhooks/"+vendor.ID, ""); status != 204 {
			t.Errorf("delete a vendor's webhook: %d", status)
		}
		if _, err := db.GetWebhook(ctx, store.WebhookKey{Dialect: "nursa", Owner: "client-1", ExternalID: "n-1"}); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("the nursa webhook is still there: %v", err)
		}
		// Every status of the routes this test owns was seen.
		for _, m := range c.Missing() {
			for _, op := range []string{"createWebhook ", "getWebhook ", "updateWebhook ", "deleteWebhook ", "disableWebhook "} {
				if strings.HasPrefix(m, op) {
					t.Errorf("never exercised: %s", m)
				}
			}
		}
	})
}
