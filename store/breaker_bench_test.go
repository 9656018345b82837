package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// BenchmarkDueDeliveries_OpenBreakerBacklog is one look for due deliveries beside an open
// breaker's backlog of 5,000 deliveries (10 s of a failing endpoint at 500/s), which the
// look must not read past. (Left due, the look took 14 ms.)
func BenchmarkDueDeliveries_OpenBreakerBacklog(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b)
	w := fullWebhook()
	if err := db.CreateWebhook(ctx, w); err != nil {
		b.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	old := at.Add(-time.Minute)
	for i := 0; i < 5000; i += 500 {
		var evs []*store.Event
		var ds []store.Delivery
		for j := range 500 {
			id := fmt.Sprintf("evt_%d", i+j)
			evs = append(evs, &store.Event{ID: id, Type: "user.created", Data: []byte(`{}`), OccurredAt: old, CreatedAt: old, Deliveries: 1})
			ds = append(ds, store.Delivery{ID: fmt.Sprintf("msg_%d", i+j), EventID: id, WebhookID: w.ID, Dialect: w.Dialect,
				EventName: "user.create", Status: store.DeliveryPending, NextAttemptAt: &old, CreatedAt: old, UpdatedAt: old})
		}
		if err := db.CreateEvents(ctx, evs, ds); err != nil {
			b.Fatal(err)
		}
	}
	if _, _, err := db.OpenBreaker(ctx, w.ID, at, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if got, err := db.DueDeliveries(ctx, at, 256, []string{w.ID}); err != nil || len(got) != 0 {
			b.Fatal(err, len(got))
		}
	}
}
