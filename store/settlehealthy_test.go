package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// SettleClaimAndMarkHealthy settles, and ends the runs of failures of exactly the
// webhooks that had one, storing the notices of their recoveries, in one write that is
// all or nothing: on PostgreSQL a batch
// outside a transaction, which the server must run as one.
func TestSettleClaimAndMarkHealthy_AllOrNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		failing := &store.Webhook{Dialect: "test", ExternalID: uuid.NewString(), URL: "https://example.com/f", Enabled: true, Global: true}
		healthy := &store.Webhook{Dialect: "test", ExternalID: uuid.NewString(), URL: "https://example.com/h", Enabled: true, Global: true}
		for _, w := range []*store.Webhook{failing, healthy} {
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		if started, err := db.SetFailingSince(ctx, failing.ID, time.Now().Add(-time.Minute)); err != nil || !started {
			t.Fatalf("start a run of failures: %v %v", started, err)
		}
		until := time.Now().Add(time.Hour)
		ev := &store.Event{ID: "evt_" + uuid.NewString(), Type: "user.created", OccurredAt: time.Now()}
		var ds []store.Delivery
		for range 2 {
			ds = append(ds, store.Delivery{ID: "msg_" + uuid.NewString(), EventID: ev.ID, WebhookID: failing.ID, Dialect: "test",
				EventName: "user.created", Status: store.DeliveryPending, ClaimedUntil: &until, ClaimedBy: "rep_a"})
		}
		if err := storetest.CreateEvent(ctx, db, ev, ds); err != nil {
			t.Fatal(err)
		}
		settled := func(i int) *store.Delivery {
			at := time.Now()
			return &store.Delivery{ID: ds[i].ID, Status: store.DeliverySucceeded, Attempts: 1, DeliveredAt: &at, ClaimedBy: "rep_a"}
		}
		attempt := func(i int, id string) *store.Attempt {
			return &store.Attempt{ID: id, DeliveryID: ds[i].ID, Number: 1, URL: failing.URL, StartedAt: time.Now(), ResponseStatus: 200}
		}
		// Each with the notice of its recovery: stored only for the run the write ends.
		notice := func(w *store.Webhook) *store.Notice {
			return &store.Notice{ID: "evt_" + uuid.NewString(), Type: "polyhook.webhook.recovered", Subject: w.ID, Data: `{"webhook":{"id":"` + w.ID + `"}}`,
				OccurredAt: time.Now()}
		}
		hooks := []store.HealthMark{{WebhookID: failing.ID, Recovered: notice(failing)}, {WebhookID: healthy.ID, Recovered: notice(healthy)}}
		notices := func() []store.Notice {
			t.Helper()
			ns, err := db.Notices(ctx, time.Now().Add(time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			return ns
		}
		// The second attempt's insert fails (the first's id again): what the first wrote
		// must not stay, nor may anything after it be written.
		same := "att_" + uuid.NewString()
		_, _, ended, err := db.SettleClaimAndMarkHealthy(ctx, []*store.Delivery{settled(0), settled(1)},
			[]*store.Attempt{attempt(0, same), attempt(1, same)}, nil, "rep_a", until, hooks)
		if err == nil || len(ended) != 0 {
			t.Fatalf("a write with a duplicate attempt: ended %v, err %v", ended, err)
		}
		if as, err := db.Attempts(ctx, ds[0].ID); err != nil || len(as) != 0 {
			t.Fatalf("a failed write kept an attempt: %d %v", len(as), err)
		}
		if w, err := db.WebhookByID(ctx, failing.ID); err != nil || w.FailingSince == nil {
			t.Fatalf("a failed write ended the run of failures: %+v %v", w, err)
		}
		if ns := notices(); len(ns) != 0 {
			t.Fatalf("a failed write stored notices: %+v", ns)
		}
		for i := range ds {
			if got, err := db.GetDelivery(ctx, ds[i].ID); err != nil || got.ClaimedUntil == nil || got.Status != store.DeliveryPending {
				t.Fatalf("a failed write settled a delivery: %+v %v", got, err)
			}
		}
		held, _, ended, err := db.SettleClaimAndMarkHealthy(ctx, []*store.Delivery{settled(0), settled(1)},
			[]*store.Attempt{attempt(0, "att_"+uuid.NewString()), attempt(1, "att_"+uuid.NewString())}, nil, "rep_a", until, hooks)
		if err != nil || !held[0] || !held[1] || len(ended) != 1 || ended[0] != failing.ID {
			t.Fatalf("settle and end the run: held %v, ended %v, err %v", held, ended, err)
		}
		if w, err := db.WebhookByID(ctx, failing.ID); err != nil || w.FailingSince != nil {
			t.Fatalf("the run of failures goes on: %+v %v", w, err)
		}
		ns := notices()
		if len(ns) != 1 || ns[0].ID != hooks[0].Recovered.ID || ns[0].Subject != failing.ID || ns[0].Data != hooks[0].Recovered.Data ||
			!ns[0].OccurredAt.Equal(hooks[0].Recovered.OccurredAt.Truncate(time.Microsecond)) {
			t.Fatalf("notices stored: %+v, want the failing webhook's recovery", ns)
		}
		if got, err := db.GetDelivery(ctx, ds[1].ID); err != nil || got.Status != store.DeliverySucceeded || got.ClaimedUntil != nil {
			t.Fatalf("not settled: %+v %v", got, err)
		}
		// Ended once: a second success finds no run to end.
		hooks[0].Recovered = notice(failing)
		if _, _, ended, err := db.SettleClaimAndMarkHealthy(ctx, nil, nil, nil, "rep_a", until, hooks); err != nil || len(ended) != 0 {
			t.Fatalf("ended again: %v %v", ended, err)
		}
		if ns := notices(); len(ns) != 1 {
			t.Fatalf("a write that ended no run stored notices: %+v", ns)
		}
		if err := db.DeleteNotices(ctx, []string{ns[0].ID}); err != nil {
			t.Fatal(err)
		}
		if ns := notices(); len(ns) != 0 {
			t.Fatalf("deleted notices: %+v", ns)
		}
	})
}
