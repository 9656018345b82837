package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// TestOwnedDeliveriesPrunedAttempts: a pending delivery whose attempts were all pruned
// takes no place in a page, which stays full.
func TestOwnedDeliveriesPrunedAttempts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		w := &store.Webhook{Dialect: "nursa", Owner: "c1", ExternalID: "ext-c1", URL: "https://example.com/c1", Events: []string{"all"}, Enabled: true}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var all []string
		for i := range 8 {
			at := base.Add(time.Duration(i+1) * time.Second)
			attemptAt := at
			if i == 6 { // its attempt is older than the prune's cut
				attemptAt = base.Add(-time.Hour)
			}
			all = append(all, addAttempted(t, db, w, fmt.Sprintf("d%04d", i), `{"facilityId":"NUR-1"}`, at, attemptAt))
		}
		if a, _, _, err := db.Prune(ctx, base); err != nil || a != 1 {
			t.Fatalf("prune: %d %v", a, err)
		}
		ds, _, err := db.OwnedDeliveries(ctx, store.OwnedDeliveryFilter{Dialect: "nursa", Owner: "c1", Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{all[7], all[5], all[4], all[3], all[2]}
		if got := ids(ds); !slices.Equal(got, want) {
			t.Errorf("newest five: %v, want %v", got, want)
		}
	})
}

// addAttempted stores an event created at with data, its pending delivery id to w, and
// the delivery's failed first attempt, made at attemptAt.
func addAttempted(t *testing.T, db *store.DB, w *store.Webhook, id, data string, at, attemptAt time.Time) string {
	t.Helper()
	ctx := context.Background()
	ev := &store.Event{ID: "e" + id, Type: "x", CreatedAt: at, OccurredAt: at}
	if data != "" {
		ev.Data = json.RawMessage(data)
	}
	d := store.Delivery{ID: id, EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "shift.created", Status: store.DeliveryPending}
	if err := storetest.CreateEvent(ctx, db, ev, []store.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	d.Attempts, d.LastStatus = 1, 500
	next := at.Add(time.Hour)
	d.NextAttemptAt = &next
	a := &store.Attempt{ID: "a" + id, DeliveryID: id, Number: 1, URL: w.URL, StartedAt: attemptAt, RequestBody: `{"data":` + data + `}`, ResponseStatus: 500}
	if err := storetest.RecordAttempt(ctx, db, a, &d); err != nil {
		t.Fatal(err)
	}
	return id
}

func ids(ds []store.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}
