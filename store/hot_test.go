package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// What the hot path writes (events, deliveries, attempts, settlements) reads back through
// the GORM models field for field, on both backends.
func TestHotPath_RoundTripsEveryField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		db.LogAttemptsByWebhook(w.Dialect) // so that the attempts keep their webhook's digest
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 1, 10, 0, 0, 123e6, time.UTC)
		later, until := at.Add(time.Minute), at.Add(time.Hour)
		ev := &store.Event{ID: "evt_hot", Type: "user.created", Tenant: "t1", Data: json.RawMessage(`{"big":12345678901234567890,"s":"é"}`),
			OccurredAt: at, CreatedAt: at, Deliveries: 2}
		ds := []store.Delivery{
			{ID: "msg_hot1", EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create", Status: store.DeliveryPending,
				ClaimedUntil: &until, ClaimedBy: "rep_1", CreatedAt: at, UpdatedAt: at},
			{ID: "msg_hot2", EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create", Status: store.DeliveryPending,
				Attempts: 1, LastStatus: 500, LastError: "x", NextAttemptAt: &later, CreatedAt: at, UpdatedAt: at},
		}
		if err := db.CreateEvents(ctx, []*store.Event{ev}, ds); err != nil {
			t.Fatal(err)
		}
		gotEv, err := db.GetEvent(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !same(gotEv, ev) {
			t.Errorf("event read back\n%+v\nwant\n%+v", gotEv, ev)
		}
		for _, d := range ds {
			got, err := db.GetDelivery(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !same(*got, d) {
				t.Errorf("delivery read back\n%+v\nwant\n%+v", *got, d)
			}
		}
		if err := db.CreateEvents(ctx, []*store.Event{ev}, nil); store.ErrorCode(err) != store.ECONFLICT {
			t.Errorf("the same event id again: %v, want ECONFLICT", err)
		}

		a := &store.Attempt{ID: "att_hot", DeliveryID: "msg_hot1", Number: 1, URL: w.URL, StartedAt: later, DurationMS: 12,
			RequestHeaders: map[string]string{"Content-Type": "application/json"}, RequestBody: `{"a":1}`, ResponseStatus: 200,
			ResponseHeaders: map[string]string{"X-R": "1"}, ResponseBody: "ok", Error: "e", ErrorKind: "k", OmittedHeaders: []string{"Header 1"}}
		d := ds[0]
		d.Status, d.Attempts, d.LastStatus, d.DeliveredAt = store.DeliverySucceeded, 1, 200, &later
		stranger := ds[1]
		stranger.ClaimedBy = "rep_2" // holds no claim
		held, err := db.Settle(ctx, []*store.Delivery{&d, &stranger}, []*store.Attempt{a, nil})
		if err != nil {
			t.Fatal(err)
		}
		if !held[0] || held[1] {
			t.Errorf("held %v, want [true false]", held)
		}
		if d.ClaimedUntil != nil || d.ClaimedBy != "" {
			t.Errorf("the settled claim still held in memory: %v %q", d.ClaimedUntil, d.ClaimedBy)
		}
		got, err := db.GetDelivery(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		// claimed_by is cleared with the claim: a finished delivery keeps no replica's id.
		if !same(*got, d) {
			t.Errorf("settled delivery read back\n%+v\nwant\n%+v", *got, d)
		}
		as, err := db.Attempts(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The store records each attempt's webhook, from its delivery, where its dialect
		// lists webhooks' logs.
		want := *a
		want.WebhookDigest = store.WebhookDigest(w.ID)
		if len(as) != 1 || !same(as[0], want) {
			t.Errorf("attempts read back\n%+v\nwant\n%+v", as, want)
		}
		var bare store.Attempt
		bare = store.Attempt{ID: "att_bare", DeliveryID: "msg_hot2", Number: 2, URL: w.URL, StartedAt: later}
		s2 := ds[1]
		if _, err := db.Settle(ctx, []*store.Delivery{&s2}, []*store.Attempt{&bare}); err != nil {
			t.Fatal(err)
		}
		as, _ = db.Attempts(ctx, "msg_hot2")
		bare.WebhookDigest = store.WebhookDigest(w.ID)
		if len(as) != 1 || !same(as[0], bare) {
			t.Errorf("an attempt without headers read back\n%+v\nwant\n%+v", as, bare)
		}
	})
}

// same compares as the API shows them: instants whatever their *time.Location.
func same(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
