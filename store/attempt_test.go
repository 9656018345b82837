package store_test

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// The Standard Webhooks id and timestamp an attempt sent are not stored (its row holds
// them already), and every read gives back the headers as sent. An attempt whose headers
// say something else, or nothing, is stored as it is.
func TestAttempt_RequestHeadersAsSent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		w := &store.Webhook{Dialect: "nursa", Owner: "c1", ExternalID: "ext-h1", URL: "https://example.com/h", Events: []string{"all"}, Enabled: true}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		started := at.Add(1500 * time.Millisecond)
		ts := strconv.FormatInt(started.Unix(), 10)
		cases := []struct {
			id      string
			headers map[string]string
			stored  bool // whether the Webhook-Id header is in the stored column
		}{
			{"msg_sent", map[string]string{"Content-Type": "application/json", "Webhook-Id": "msg_sent", "Webhook-Timestamp": ts, "Webhook-Signature": "v1,abc"}, false},
			{"msg_signed", map[string]string{"Content-Type": "application/json", "Webhook-Id": "msg_signed", "Webhook-Timestamp": ts, "Webhook-Signature": store.RedactedValue}, false},
			{"msg_other", map[string]string{"Webhook-Id": "msg_someone_else", "Webhook-Timestamp": ts}, true},
			{"msg_oldts", map[string]string{"Webhook-Id": "msg_oldts", "Webhook-Timestamp": "12"}, true},
			{"msg_noid", map[string]string{"Content-Type": "text/plain"}, false},
			{"msg_none", nil, false},
		}
		for _, c := range cases {
			ev := &store.Event{ID: "e" + c.id, Type: "x", CreatedAt: at, OccurredAt: at}
			d := store.Delivery{ID: c.id, EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "shift.created", Status: store.DeliveryPending}
			if err := storetest.CreateEvent(ctx, db, ev, []store.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			d.Attempts, d.LastStatus, d.Status = 1, 200, store.DeliverySucceeded
			a := &store.Attempt{ID: "a" + c.id, DeliveryID: c.id, Number: 1, URL: w.URL, StartedAt: started, RequestHeaders: maps.Clone(c.headers), ResponseStatus: 200}
			if err := storetest.RecordAttempt(ctx, db, a, &d); err != nil {
				t.Fatal(err)
			}
			as, err := db.Attempts(ctx, c.id)
			if err != nil || len(as) != 1 {
				t.Fatalf("%s: %d attempts, %v", c.id, len(as), err)
			}
			if got := as[0].RequestHeaders; !maps.Equal(got, c.headers) || (got == nil) != (c.headers == nil) {
				t.Errorf("%s: read back %v, sent %v", c.id, got, c.headers)
			}
			page, _, err := db.AttemptsOfWebhook(ctx, w.ID, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, wa := range page {
				if wa.DeliveryID == c.id && !maps.Equal(wa.RequestHeaders, c.headers) {
					t.Errorf("%s: the webhook's log reads %v, sent %v", c.id, wa.RequestHeaders, c.headers)
				}
			}
			one, _, err := db.GetAttempt(ctx, a.ID)
			if err != nil || !maps.Equal(one.RequestHeaders, c.headers) {
				t.Errorf("%s: GetAttempt reads %v (%v), sent %v", c.id, one.RequestHeaders, err, c.headers)
			}
			raw, err := storetest.RawRequestHeaders(ctx, db, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(raw, "Webhook-Id") != c.stored || (!c.stored && strings.Contains(raw, c.id)) {
				t.Errorf("%s: stored %s", c.id, raw)
			}
			if c.headers["Webhook-Signature"] == store.RedactedValue && strings.Contains(raw, "Webhook-Signature") {
				t.Errorf("%s: the redacted signature stored: %s", c.id, raw)
			}
			if c.headers["Webhook-Signature"] == "v1,abc" && !strings.Contains(raw, "v1,abc") {
				t.Errorf("%s: a signature not redacted is not stored: %s", c.id, raw)
			}
		}
	})
}
