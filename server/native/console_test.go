package native_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/gateway"
	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// exerciseDashboardRoutes checks, within TestContract, the routes the console needs:
// one webhook, disable, the health filter and the stats. It leaves the webhook enabled.
func exerciseDashboardRoutes(t *testing.T, do func(method, path, body string, auth ...string) (int, []byte), webhookID string) {
	t.Helper()
	status, b := do("GET", "/v1/webhooks/"+webhookID, "")
	var w api.Webhook
	if err := json.Unmarshal(b, &w); status != 200 || err != nil || w.Id != webhookID || w.DisabledAt != nil {
		t.Errorf("get webhook: %d %s", status, b)
	}
	if status, _ = do("GET", "/v1/webhooks/nope", ""); status != 404 {
		t.Errorf("get an unknown webhook: %d", status)
	}
	if status, _ = do("GET", "/v1/webhooks/"+webhookID, "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("get webhook without the token: %d", status)
	}
	if status, b = do("POST", "/v1/webhooks/"+webhookID+"/disable", ""); status != 204 {
		t.Errorf("disable: %d %s", status, b)
	}
	status, b = do("GET", "/v1/webhooks/"+webhookID, "")
	w = api.Webhook{}
	if err := json.Unmarshal(b, &w); status != 200 || err != nil || w.Id != webhookID || w.DisabledAt == nil || w.DisabledReason == nil {
		t.Errorf("disabled webhook: %d %s", status, b)
	}
	if status, b = do("GET", "/v1/webhooks?health=disabled", ""); status != 200 || !strings.Contains(string(b), webhookID) {
		t.Errorf("disabled webhooks: %d %s", status, b)
	}
	if status, b = do("GET", "/v1/webhooks?health=healthy", ""); status != 200 || strings.Contains(string(b), webhookID) {
		t.Errorf("healthy webhooks list a disabled one: %d %s", status, b)
	}
	if status, _ = do("GET", "/v1/webhooks?health=sad", ""); status != 400 {
		t.Errorf("unknown health: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/nope/disable", ""); status != 404 {
		t.Errorf("disable unknown: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/"+webhookID+"/disable", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("disable without the token: %d", status)
	}
	status, b = do("GET", "/v1/stats?minutes=5", "")
	var st api.Stats
	if err := json.Unmarshal(b, &st); status != 200 || err != nil || len(st.Minutes) != 5 || st.Webhooks.Disabled < 1 {
		t.Errorf("stats: %d %s", status, b)
	}
	for _, q := range []string{"minutes=0", "minutes=1441", "minutes=x"} {
		if status, _ = do("GET", "/v1/stats?"+q, ""); status != 400 {
			t.Errorf("stats ?%s: %d", q, status)
		}
	}
	if status, _ = do("GET", "/v1/stats", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("stats without the token: %d", status)
	}
	if status, _ = do("POST", "/v1/webhooks/"+webhookID+"/enable", ""); status/100 != 2 {
		t.Errorf("enable after disable: %d", status)
	}
	exercisePauseRoutes(t, do, webhookID)
}

// exercisePauseRoutes checks pause and resume: 204, pausedAt shown while paused, 404 in
// the native envelope for an unknown webhook. It leaves the webhook resumed.
func exercisePauseRoutes(t *testing.T, do func(method, path, body string, auth ...string) (int, []byte), webhookID string) {
	t.Helper()
	get := func() api.Webhook {
		t.Helper()
		status, b := do("GET", "/v1/webhooks/"+webhookID, "")
		var w api.Webhook
		if err := json.Unmarshal(b, &w); status != 200 || err != nil {
			t.Fatalf("get webhook: %d %s", status, b)
		}
		return w
	}
	if w := get(); w.PausedAt != nil {
		t.Errorf("a webhook never paused shows pausedAt %v", w.PausedAt)
	}
	if status, b := do("POST", "/v1/webhooks/"+webhookID+"/pause", ""); status != 204 {
		t.Errorf("pause: %d %s", status, b)
	}
	w := get()
	if w.PausedAt == nil || w.DisabledAt != nil {
		t.Errorf("paused webhook: pausedAt %v, disabledAt %v", w.PausedAt, w.DisabledAt)
	}
	if status, b := do("POST", "/v1/webhooks/"+webhookID+"/resume", ""); status != 204 {
		t.Errorf("resume: %d %s", status, b)
	}
	if w := get(); w.PausedAt != nil {
		t.Errorf("resumed webhook shows pausedAt %v", w.PausedAt)
	}
	for _, op := range []string{"pause", "resume"} {
		status, b := do("POST", "/v1/webhooks/nope/"+op, "")
		var e api.Error
		if err := json.Unmarshal(b, &e); status != 404 || err != nil || e.Error.Code != "not_found" {
			t.Errorf("%s an unknown webhook: %d %s", op, status, b)
		}
		if status, _ = do("POST", "/v1/webhooks/"+webhookID+"/"+op, "", "Authorization", "Bearer no"); status != 401 {
			t.Errorf("%s without the token: %d", op, status)
		}
	}
}

// TestStats checks what GET /v1/stats counts, on both backends.
func TestStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		log := servertest.Logger(t)
		engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log})
		if err != nil {
			t.Fatal(err)
		}
		srv := gateway.New(gateway.Config{Deps: server.Deps{DB: db, Log: log}, Engine: engine, TokenHash: store.HashSecret(token)})
		url := servertest.Serve(t, srv)
		spec, err := api.GetSwagger()
		if err != nil {
			t.Fatal(err)
		}
		c := servertest.NewContract(t, spec, url)
		get := func(path string) (int, []byte) {
			resp, b := c.Do(t, servertest.Request(t, "GET", url+path, "", "Authorization", "Bearer "+token))
			return resp.StatusCode, b
		}

		status, b := get("/v1/stats")
		var st api.Stats
		if err := json.Unmarshal(b, &st); status != 200 || err != nil || len(st.Minutes) != 60 || st.Backlog.Pending != 0 || st.Backlog.OldestPendingId != nil || st.Webhooks.Total != 0 {
			t.Fatalf("stats of an empty gateway: %d %s", status, b)
		}

		w := &store.Webhook{Dialect: "nursa", ExternalID: "n", URL: "https://n.example.com", Enabled: true}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := db.Now()
		for i := range 3 {
			at := now.Add(-time.Duration(i) * time.Millisecond)
			ev := &store.Event{ID: fmt.Sprintf("e%d", i), Type: "user.created", OccurredAt: at, CreatedAt: at}
			if err := storetest.CreateEvent(ctx, db, ev, []store.Delivery{{ID: fmt.Sprintf("d%d", i), EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "all", Status: store.DeliveryPending}}); err != nil {
				t.Fatal(err)
			}
		}
		d := &store.Delivery{ID: "d0", Status: store.DeliveryPending, Attempts: 1, LastStatus: 500}
		if err := storetest.RecordAttempt(ctx, db, &store.Attempt{ID: "a0", DeliveryID: "d0", Number: 1, URL: w.URL, StartedAt: now, ResponseStatus: 500}, d); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetFailingSince(ctx, w.ID, now); err != nil {
			t.Fatal(err)
		}

		status, b = get("/v1/stats?minutes=2")
		if err := json.Unmarshal(b, &st); status != 200 || err != nil || len(st.Minutes) != 2 {
			t.Fatalf("stats: %d %s", status, b)
		}
		last := st.Minutes[1]
		if last.Published != 3 || last.Failed != 1 || last.Succeeded != 0 || st.Minutes[0].Published != 0 ||
			!st.Until.Equal(last.Start.Add(time.Minute)) || !st.Since.Equal(st.Minutes[0].Start) {
			t.Errorf("minutes: %s", b)
		}
		if st.Backlog.Pending != 3 || st.Backlog.OldestPendingId == nil || *st.Backlog.OldestPendingId != "d2" {
			t.Errorf("backlog: %s", b)
		}
		if st.Webhooks.Total != 1 || st.Webhooks.Failing != 1 || st.Webhooks.Disabled != 0 {
			t.Errorf("webhooks: %s", b)
		}
		if status, b = get("/v1/webhooks?health=failing"); status != 200 || !strings.Contains(string(b), w.ID) {
			t.Errorf("failing webhooks: %d %s", status, b)
		}
	})
}
