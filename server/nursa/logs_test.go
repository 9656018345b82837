package nursa_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	data := `{"facilityId":"NUR-1","userId":"u"}`
	body := `{"data":` + data + `,"eventType":"facility.user-connection.accepted"}`
	d := store.Delivery{ID: "msg_logs1", EventID: "evt_logs1", WebhookID: w.ID, Dialect: nursa.Name, EventName: "facility.user-connection.accepted", Status: store.DeliveryPending}
	if err := storetest.CreateEvent(ctx, g.db, &store.Event{ID: "evt_logs1", Type: "group.member.added", Data: json.RawMessage(data), OccurredAt: time.Now()}, []store.Delivery{d}); err != nil {
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
		"offset=10001":             "offset must not be greater than 10000",
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

// TestLogsFacilityPage: with a facility filter the page is taken after filtering, by the
// database, among many deliveries of other facilities; deliveries of the client's other
// facilities and of other clients take no place in it.
func TestLogsFacilityPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		g := startOn(t, db, nil)
		clientID, token := g.client(t)
		ctx := context.Background()
		w := &store.Webhook{Dialect: nursa.Name, Owner: clientID, ExternalID: "6f1c2d3e-0000-4000-8000-0000000000b2", URL: "https://example.com/p", Events: []string{"all"}, Enabled: true}
		if err := g.db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		base := time.Now().UTC().Add(-time.Hour)
		var want []string // attempt ids of NUR-7's and NUR-8's deliveries, oldest first
		for i := range 120 {
			fid := fmt.Sprintf("NUR-%d", 100+i)
			if i%25 == 3 {
				fid = "NUR-7"
			} else if i == 60 {
				fid = "NUR-8"
			}
			data := `{"facilityId":"` + fid + `","shiftId":"s"}`
			id := fmt.Sprintf("page%03d", i)
			at := base.Add(time.Duration(i) * time.Second)
			d := store.Delivery{ID: id, EventID: "evt_" + id, WebhookID: w.ID, Dialect: nursa.Name, EventName: "shift.created", Status: store.DeliveryPending}
			if err := storetest.CreateEvent(ctx, g.db, &store.Event{ID: d.EventID, Type: "nursa:shift.created", Tenant: clientID, Data: json.RawMessage(data), OccurredAt: at, CreatedAt: at}, []store.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			d.Attempts, d.LastStatus, d.Status = 1, 200, store.DeliverySucceeded
			a := &store.Attempt{ID: "att_" + id, DeliveryID: id, Number: 1, URL: w.URL, StartedAt: at, RequestBody: `{"data":` + data + `,"eventType":"shift.created"}`, ResponseStatus: 200}
			if err := storetest.RecordAttempt(ctx, g.db, a, &d); err != nil {
				t.Fatal(err)
			}
			if fid == "NUR-7" || fid == "NUR-8" {
				want = append(want, a.ID)
			}
		}
		page := func(q string) []string {
			t.Helper()
			status, b := g.do(t, token, "GET", "/api/v2/public/webhooks/logs?facilitiesIds=NUR-7&facilitiesIds=NUR-8&"+q, "")
			var res struct {
				Data []struct{ ID, FacilityID, Status string }
			}
			if err := json.Unmarshal(b, &res); status != 200 || err != nil {
				t.Fatalf("?%s: %d %s", q, status, b)
			}
			var got []string
			for _, l := range res.Data {
				if l.FacilityID != "NUR-7" && l.FacilityID != "NUR-8" || l.Status != "success" {
					t.Errorf("?%s: entry %+v", q, l)
				}
				got = append(got, l.ID)
			}
			return got
		}
		if got := page("sortDirection=ASC&offset=2&limit=3"); !slices.Equal(got, want[2:5]) {
			t.Errorf("ascending, offset 2, limit 3: %v, want %v", got, want[2:5])
		}
		rev := slices.Clone(want)
		slices.Reverse(rev)
		if got := page("offset=1&limit=2"); !slices.Equal(got, rev[1:3]) {
			t.Errorf("descending, offset 1, limit 2: %v, want %v", got, rev[1:3])
		}
		if got := page("offset=5"); !slices.Equal(got, rev[5:]) {
			t.Errorf("the last page: %v, want %v", got, rev[5:])
		}
	})
}
