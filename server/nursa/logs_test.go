package nursa_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// TestLogs: a delivery that failed, then succeeded on retry, shows as one log with its
// retry, scoped to the client, filtered and validated as Nursa's logs API is.
func TestLogs(t *testing.T) {
	g := start(t, nil)
	clientID, token := g.client(t)
	_, other := g.client(t)
	ctx := context.Background()
	w := &store.Webhook{Dialect: nursa.Name, Owner: clientID, ExternalID: "6f1c2d3e-0000-4000-8000-0000000000b1", URL: "https://example.com/n", Events: []string{"all"}, Enabled: true}
	if err := g.db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	body := `{"data":{"facilityId":"NUR-1","userId":"u"},"eventType":"facility.user-connection.accepted"}`
	d := store.Delivery{ID: "msg_logs1", EventID: "evt_logs1", WebhookID: w.ID, Dialect: nursa.Name, EventName: "facility.user-connection.accepted", Status: store.DeliveryPending}
	if err := storetest.CreateEvent(ctx, g.db, &store.Event{ID: "evt_logs1", Type: "group.member.added", OccurredAt: time.Now()}, []store.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	for i, status := range []int{500, 200} {
		d.Attempts, d.LastStatus = i+1, status
		if status == 200 {
			d.Status = store.DeliverySucceeded
		}
		a := &store.Attempt{ID: "att_" + string(rune('a'+i)), DeliveryID: d.ID, Number: i + 1, URL: w.URL, StartedAt: time.Now(), RequestBody: body, ResponseStatus: status, ResponseBody: "r"}
		if err := storetest.RecordAttempt(ctx, g.db, a, &d); err != nil {
			t.Fatal(err)
		}
	}
	const logs = "/api/v2/public/webhooks/logs"
	status, b := g.do(t, token, "GET", logs+"?facilitiesIds=NUR-1&eventType=facility.user-connection.accepted&sortDirection=ASC&limit=5", "")
	var res struct {
		Data []struct {
			ID, FacilityID, EventType, Status, URL string
			ResponseStatus                         int
			RequestPayload                         map[string]any
			Retries                                []struct{ RetryAttempt, ResponseStatus int }
		}
	}
	if err := json.Unmarshal(b, &res); status != 200 || err != nil || len(res.Data) != 1 {
		t.Fatalf("logs: %d %s", status, b)
	}
	l := res.Data[0]
	if l.FacilityID != "NUR-1" || l.Status != "success" || l.ResponseStatus != 500 || len(l.Retries) != 1 || l.Retries[0].RetryAttempt != 1 ||
		l.Retries[0].ResponseStatus != 200 || l.URL != w.URL || l.RequestPayload["eventType"] != "facility.user-connection.accepted" {
		t.Errorf("log entry: %s", b)
	}
	for _, q := range []string{"facilitiesIds=NUR-2", "eventType=facility.creation.accepted", "limit=0"} {
		if _, b = g.do(t, token, "GET", logs+"?"+q, ""); strings.TrimSpace(string(b)) != `{"data":[]}` {
			t.Errorf("?%s: %s", q, b)
		}
	}
	if _, b = g.do(t, other, "GET", logs, ""); strings.TrimSpace(string(b)) != `{"data":[]}` {
		t.Errorf("another client sees logs: %s", b)
	}
	for q, msg := range map[string]string{
		"limit=101":                "limit must not be greater than 100",
		"offset=-1":                "offset must not be less than 0",
		"sortDirection=UP":         "sortDirection must be one of the following values: ASC, DESC",
		"startDate=yesterday":      "startDate must be a valid ISO 8601 date string",
		"eventType=shift.exploded": "eventType must be one of the following values",
		"startDate=2026-01-02T00:00:00Z&endDate=2026-01-01T00:00:00Z": "startDate must be before endDate",
	} {
		if status, b = g.do(t, token, "GET", logs+"?"+q, ""); status != 400 || !strings.Contains(string(b), msg) {
			t.Errorf("?%s: %d %s", q, status, b)
		}
	}
}
