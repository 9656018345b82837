package store_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
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
		db.LogAttemptsByWebhook(w.Dialect) // the webhook's log reads the headers too
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
			{"msg_other", map[string]string{"Webhook-Id": "msg_someone_else", "Webhook-Timestamp": ts, "Content-Type": "application/json"}, true},
			{"msg_form", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Webhook-Id": "msg_form", "Webhook-Timestamp": ts}, false},
			{"msg_oldts", map[string]string{"Webhook-Id": "msg_oldts", "Webhook-Timestamp": "12"}, true},
			{"msg_noid", map[string]string{"Content-Type": "text/plain"}, false},
			{"msg_none", nil, false},
		}
		for _, c := range cases {
			a := &store.Attempt{ID: "a" + c.id, DeliveryID: c.id, Number: 1, URL: w.URL, StartedAt: started, RequestHeaders: maps.Clone(c.headers), ResponseStatus: 200}
			for i, got := range recordAndRead(t, db, w, at, a) {
				if !maps.Equal(got.RequestHeaders, c.headers) || (got.RequestHeaders == nil) != (c.headers == nil) {
					t.Errorf("%s: %s reads %v, sent %v", c.id, attemptReads[i], got.RequestHeaders, c.headers)
				}
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
			if strings.Contains(raw, "application/json") != (c.stored && c.headers["Content-Type"] == "application/json") {
				t.Errorf("%s: the JSON content type stored or not as it should be: %s", c.id, raw)
			}
		}
	})
}

// A request body that repeats its event's data is stored without it and read back whole,
// by every read of attempts; a body that does not, or whose data is too short to be
// worth it, is stored as it is.
func TestAttempt_RequestBodyAsSent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		w := &store.Webhook{Dialect: "native", Owner: "o1", ExternalID: "ext-b1", URL: "https://example.com/b", Events: []string{"all"}, Enabled: true}
		db.LogAttemptsByWebhook(w.Dialect) // the webhook's log reads the bodies too
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		const user = `"user":{"id":"u1","email":"ada@example.com"}`
		cases := []struct {
			id   string
			data string // as published
			// body is the body sent; %s stands for the event's data as stored.
			body string
			// left is whether the stored body leaves the data out (once), absent what it
			// must then not hold.
			left   bool
			absent string
		}{
			{"native", `{` + user + `}`, `{"type":"user.created","data":%s}`, true, "ada@example.com"},
			{"spaced", `{ "user": {"id": "u1", "email": "ada@example.com"} }`, `{"type":"user.created","data":%s}`, true, "ada@example.com"},
			{"merged", `{` + user + `}`, `{"event":{` + user + `,"type":"user.create","id":"x"}}`, true, "ada@example.com"},
			{"array", `["ada@example.com","grace@example.com"]`, `{"data":%s}`, true, "grace@example.com"},
			{"twice", `{` + user + `}`, `{"data":%s,"again":%s}`, true, ""},
			{"form", `{` + user + `}`, `eventName=user.created&data=%7B%22user%22%7D`, false, ""},
			{"short", `{"i":1}`, `{"data":%s}`, false, ""},
			{"marked", `{` + user + `}`, "\x01" + `5` + "\x01" + `{"data":1}`, false, ""},
			{"nodata", ``, `{"data":{}}`, false, ""},
		}
		for _, c := range cases {
			ev := &store.Event{ID: "e" + c.id, Type: "x", CreatedAt: at, OccurredAt: at}
			if c.data != "" {
				ev.Data = json.RawMessage(c.data)
			}
			d := store.Delivery{ID: "m" + c.id, EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.created", Status: store.DeliveryPending}
			if err := storetest.CreateEvent(ctx, db, ev, []store.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			// The engine builds the body from the event as created: its data as stored.
			body := strings.ReplaceAll(c.body, "%s", string(ev.Data))
			var sent []string
			for n := 1; n <= 2; n++ {
				d.Attempts, d.LastStatus, d.Status = n, 500, store.DeliveryPending
				if n == 2 {
					d.LastStatus, d.Status = 200, store.DeliverySucceeded
				}
				a := &store.Attempt{ID: "a" + c.id + strconv.Itoa(n), DeliveryID: d.ID, Number: n, URL: w.URL, StartedAt: at.Add(time.Duration(n) * time.Second),
					RequestBody: body, ResponseStatus: d.LastStatus, EventData: ev.Data}
				if err := storetest.RecordAttempt(ctx, db, a, &d); err != nil {
					t.Fatal(err)
				}
				raw, err := storetest.RawRequestBody(ctx, db, a.ID)
				if err != nil {
					t.Fatal(err)
				}
				// A body kept whole is stored as it is, behind two marks when it begins
				// with one.
				whole := body
				if strings.HasPrefix(body, "\x01") {
					whole = "\x01\x01" + body
				}
				switch {
				case c.left && (len(raw) > len(body)-10 || c.absent != "" && strings.Contains(raw, c.absent)):
					t.Errorf("%s: stored %q, which repeats the event's data", c.id, raw)
				case !c.left && raw != whole:
					t.Errorf("%s: stored %q, want %q", c.id, raw, whole)
				}
				sent = append(sent, a.ID)
			}
			as, err := db.Attempts(ctx, d.ID)
			if err != nil || len(as) != 2 {
				t.Fatalf("%s: %d attempts, %v", c.id, len(as), err)
			}
			of, err := db.AttemptsOf(ctx, []string{d.ID, "mnative"})
			if err != nil || len(of[d.ID]) != 2 {
				t.Fatalf("%s: AttemptsOf %v, %v", c.id, of, err)
			}
			for i, a := range as {
				if a.RequestBody != body || of[d.ID][i].RequestBody != body {
					t.Errorf("%s: read back %q and %q, sent %q", c.id, a.RequestBody, of[d.ID][i].RequestBody, body)
				}
			}
			one, _, err := db.GetAttempt(ctx, sent[0])
			if err != nil || one.RequestBody != body {
				t.Errorf("%s: GetAttempt reads %q (%v), sent %q", c.id, one.RequestBody, err, body)
			}
		}
		page, _, err := db.AttemptsOfWebhook(ctx, w.ID, 0, 100)
		if err != nil || len(page) != 2*len(cases) {
			t.Fatalf("the webhook's log: %d attempts, %v", len(page), err)
		}
		for _, a := range page {
			ev, err := db.GetEvent(ctx, a.EventID)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				if "e"+c.id == ev.ID {
					if want := strings.ReplaceAll(c.body, "%s", string(ev.Data)); a.RequestBody != want {
						t.Errorf("%s: the webhook's log reads %q, sent %q", c.id, a.RequestBody, want)
					}
				}
			}
		}
	})
}

// A Date the answer's headers give within seconds of the attempt's start is stored as its
// offset, and every read gives back the headers as answered; any other is stored as it is.
func TestAttempt_ResponseHeadersAsAnswered(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		w := &store.Webhook{Dialect: "nursa", Owner: "c1", ExternalID: "ext-r1", URL: "https://example.com/r", Events: []string{"all"}, Enabled: true}
		db.LogAttemptsByWebhook(w.Dialect) // the webhook's log reads the headers too
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		started := at.Add(1500 * time.Millisecond)
		date := func(d time.Duration) string { return started.Add(d).UTC().Format(http.TimeFormat) }
		cases := []struct {
			id      string
			headers map[string]string
			stored  bool // whether the Date is in the stored column
		}{
			{"r_same", map[string]string{"Date": date(0), "Content-Length": "0"}, false},
			{"r_later", map[string]string{"Date": date(3 * time.Second), "Server": "x"}, false},
			{"r_behind", map[string]string{"Date": date(-2 * time.Second)}, false},
			{"r_far", map[string]string{"Date": date(2 * time.Hour)}, true},
			{"r_format", map[string]string{"Date": started.Format(time.RFC1123Z)}, true},
			{"r_text", map[string]string{"Date": "yesterday"}, true},
			{"r_none", map[string]string{"Content-Length": "2"}, false},
			{"r_nil", nil, false},
		}
		for _, c := range cases {
			a := &store.Attempt{ID: "a" + c.id, DeliveryID: c.id, Number: 1, URL: w.URL, StartedAt: started, ResponseHeaders: maps.Clone(c.headers), ResponseStatus: 200}
			for i, got := range recordAndRead(t, db, w, at, a) {
				if !maps.Equal(got.ResponseHeaders, c.headers) || (got.ResponseHeaders == nil) != (c.headers == nil) {
					t.Errorf("%s: %s reads %v, answered %v", c.id, attemptReads[i], got.ResponseHeaders, c.headers)
				}
			}
			raw, err := storetest.RawResponseHeaders(ctx, db, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c.headers["Date"] != "" && strings.Contains(raw, c.headers["Date"]) != c.stored {
				t.Errorf("%s: stored %s", c.id, raw)
			}
		}
	})
}

// attemptReads names what recordAndRead returns, in its order.
var attemptReads = []string{"the delivery's attempts", "GetAttempt", "the webhook's log"}

// recordAndRead records a as the one attempt, succeeded, of a new event's delivery to w
// (the delivery a.DeliveryID, made at at), and returns it as each read gives it back: the
// delivery's attempts, the attempt by id, and the webhook's log.
func recordAndRead(t *testing.T, db *store.DB, w *store.Webhook, at time.Time, a *store.Attempt) []store.Attempt {
	t.Helper()
	ctx := context.Background()
	ev := &store.Event{ID: "e" + a.DeliveryID, Type: "x", CreatedAt: at, OccurredAt: at}
	d := store.Delivery{ID: a.DeliveryID, EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "shift.created", Status: store.DeliveryPending}
	if err := storetest.CreateEvent(ctx, db, ev, []store.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	d.Attempts, d.LastStatus, d.Status = 1, 200, store.DeliverySucceeded
	if err := storetest.RecordAttempt(ctx, db, a, &d); err != nil {
		t.Fatal(err)
	}
	as, err := db.Attempts(ctx, a.DeliveryID)
	if err != nil || len(as) != 1 {
		t.Fatalf("%s: %d attempts, %v", a.DeliveryID, len(as), err)
	}
	one, _, err := db.GetAttempt(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, _, err := db.AttemptsOfWebhook(ctx, w.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := []store.Attempt{as[0], *one}
	for _, wa := range page {
		if wa.DeliveryID == a.DeliveryID {
			got = append(got, wa.Attempt)
		}
	}
	if len(got) != len(attemptReads) {
		t.Fatalf("%s: not in the webhook's log", a.DeliveryID)
	}
	return got
}
