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

// BenchmarkReleaseHeld_PausedBacklog is the scheduler's look, every second, for held
// deliveries to release, beside a paused webhook holding 20,000. (When the look read the
// held index by time it read all of them: 23 ms on SQLite, 1 s at a million.)
func BenchmarkReleaseHeld_PausedBacklog(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b)
	w := fullWebhook()
	if err := db.CreateWebhook(ctx, w); err != nil {
		b.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := db.PauseWebhook(ctx, w.ID, at); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 20000; i += 500 {
		var evs []*store.Event
		var ds []store.Delivery
		for j := range 500 {
			id := fmt.Sprintf("evt_%d", i+j)
			evs = append(evs, &store.Event{ID: id, Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at, Deliveries: 1})
			ds = append(ds, store.Delivery{ID: fmt.Sprintf("msg_%d", i+j), EventID: id, WebhookID: w.ID, Dialect: w.Dialect,
				EventName: "user.create", Status: store.DeliveryPending, HeldAt: &at, CreatedAt: at, UpdatedAt: at})
		}
		if err := db.CreateEvents(ctx, evs, ds); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if n, err := db.ReleaseHeld(ctx, at); err != nil || n != 0 {
			b.Fatal(err, n)
		}
	}
}

// BenchmarkReopenBreaker_Backlog opens a breaker again beside a backlog of 4,000
// deliveries published while it was open, which are held. (When they were left due at the
// pause's end, each reopening moved all of them: 16 ms on SQLite, growing with the
// backlog.)
func BenchmarkReopenBreaker_Backlog(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b)
	w := fullWebhook()
	if err := db.CreateWebhook(ctx, w); err != nil {
		b.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	if _, _, err := db.OpenBreaker(ctx, w.ID, at, time.Second); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 4000; i += 500 {
		var evs []*store.Event
		var ds []store.Delivery
		for j := range 500 {
			id := fmt.Sprintf("evt_%d", i+j)
			evs = append(evs, &store.Event{ID: id, Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at, Deliveries: 1})
			ds = append(ds, store.Delivery{ID: fmt.Sprintf("msg_%d", i+j), EventID: id, WebhookID: w.ID, Dialect: w.Dialect,
				EventName: "user.create", Status: store.DeliveryPending, HeldAt: &at, CreatedAt: at, UpdatedAt: at})
		}
		if err := db.CreateEvents(ctx, evs, ds); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		now := at.Add(time.Duration(i+1) * time.Second)
		if _, err := db.ProbeBreaker(ctx, w.ID, "probe", now, time.Minute); err != nil {
			b.Fatal(err)
		}
		if ok, err := db.ReopenBreaker(ctx, w.ID, "probe", now.Add(time.Second), time.Second); err != nil || !ok {
			b.Fatal(err, ok)
		}
	}
}
