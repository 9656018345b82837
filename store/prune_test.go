package store_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A prune on PostgreSQL first gathers the statistics of events, deliveries and attempts
// where there are none (autovacuum off, or a bulk import just made): without them each
// batch's delete by event id read the whole deliveries table.
func TestPrune_GathersMissingStatistics(t *testing.T) {
	t.Parallel()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	db := storetest.OpenDSN(t, storetest.PostgresDSN(t))
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	ev := &store.Event{ID: "evt_s", Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at, Deliveries: 1}
	d := store.Delivery{ID: "msg_s", EventID: ev.ID, WebhookID: "wh_s", Dialect: "acme", EventName: "user.create",
		Status: store.DeliverySucceeded, Attempts: 1, CreatedAt: at, UpdatedAt: at}
	if err := db.CreateEvents(ctx, []*store.Event{ev}, []store.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Settle(ctx, nil, []*store.Attempt{{ID: "att_s", DeliveryID: d.ID, Number: 1, URL: "https://s.example.com", StartedAt: at}}); err != nil {
		t.Fatal(err)
	}
	known := func() string {
		var tables string
		if err := db.SQL().QueryRowContext(ctx, `SELECT coalesce(string_agg(DISTINCT tablename, ' ' ORDER BY tablename), '') FROM pg_stats
			WHERE schemaname = current_schema() AND tablename IN ('attempts', 'deliveries', 'events')`).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		return tables
	}
	if got := known(); got != "" {
		t.Fatalf("statistics before any prune: %q", got)
	}
	if a, dl, e, err := db.Prune(ctx, at.Add(-time.Hour)); a+dl+e != 0 || err != nil {
		t.Fatalf("prune of nothing old: %d %d %d %v", a, dl, e, err)
	}
	if got := known(); got != "attempts deliveries events" {
		t.Errorf("statistics after a prune: %q, want attempts, deliveries and events", fmt.Sprint(got))
	}
}
