package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// backlog stores n pending deliveries to w, one event each, made at at and then edited
// by edit (due, or held), 500 to a transaction.
func backlog(b *testing.B, db *store.DB, w *store.Webhook, n int, at time.Time, edit func(*store.Delivery)) {
	b.Helper()
	for i := 0; i < n; i += 500 {
		var evs []*store.Event
		var ds []store.Delivery
		for j := range min(500, n-i) {
			id := fmt.Sprintf("evt_%d", i+j)
			evs = append(evs, &store.Event{ID: id, Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at, Deliveries: 1})
			d := store.Delivery{ID: fmt.Sprintf("msg_%d", i+j), EventID: id, WebhookID: w.ID, Dialect: w.Dialect,
				EventName: "user.create", Status: store.DeliveryPending, CreatedAt: at, UpdatedAt: at}
			edit(&d)
			ds = append(ds, d)
		}
		if err := db.CreateEvents(context.Background(), evs, ds); err != nil {
			b.Fatal(err)
		}
	}
}

// eachBackend runs fn as a sub-benchmark on each backend (PostgreSQL with
// TEST_DATABASE_URL), on a store of its own holding one webhook.
func eachBackend(b *testing.B, fn func(b *testing.B, db *store.DB, w *store.Webhook)) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db := storetest.OpenDSN(b, be.DSN(b))
			w := fullWebhook()
			if err := db.CreateWebhook(context.Background(), w); err != nil {
				b.Fatal(err)
			}
			fn(b, db, w)
		})
	}
}

// BenchmarkDueDeliveries_OpenBreakerBacklog is one look for due deliveries beside an open
// breaker's backlog of 5,000 deliveries (10 s of a failing endpoint at 500/s), which the
// look must not read past. (Left due, the look took 14 ms.)
func BenchmarkDueDeliveries_OpenBreakerBacklog(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Millisecond)
		old := at.Add(-time.Minute)
		backlog(b, db, w, 5000, old, func(d *store.Delivery) { d.NextAttemptAt = &old })
		if _, _, err := db.OpenBreaker(ctx, w.ID, at, time.Hour); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if got, err := db.DueDeliveries(ctx, at, 256, []string{w.ID}); err != nil || len(got) != 0 {
				b.Fatal(err, len(got))
			}
		}
	})
}

// BenchmarkReleaseHeld_PausedBacklog is the scheduler's look, every second, for held
// deliveries to release, beside a paused webhook holding 20,000. (When the look read the
// held index by time it read all of them: 23 ms on SQLite, 1 s at a million.)
func BenchmarkReleaseHeld_PausedBacklog(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Millisecond)
		if err := db.PauseWebhook(ctx, w.ID, at); err != nil {
			b.Fatal(err)
		}
		backlog(b, db, w, 20000, at, func(d *store.Delivery) { d.HeldAt = &at })
		b.ResetTimer()
		for b.Loop() {
			if n, err := db.ReleaseHeld(ctx, at); err != nil || n != 0 {
				b.Fatal(err, n)
			}
		}
	})
}

// BenchmarkReopenBreaker_Backlog opens a breaker again beside a backlog of 4,000
// deliveries published while it was open, which are held. (When they were left due at the
// pause's end, each reopening moved all of them: 16 ms on SQLite, growing with the
// backlog.)
func BenchmarkReopenBreaker_Backlog(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Millisecond)
		if _, _, err := db.OpenBreaker(ctx, w.ID, at, time.Second); err != nil {
			b.Fatal(err)
		}
		backlog(b, db, w, 4000, at, func(d *store.Delivery) { d.HeldAt = &at })
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
	})
}

// BenchmarkFindDeliveryPage_FailedAmongDelivered is the console overview's look at the
// recent failed deliveries, every few seconds, beside 100,000 that succeeded. (Without
// the partial index on status, each look read and sorted every delivery ever kept.)
func BenchmarkFindDeliveryPage_FailedAmongDelivered(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Millisecond)
		n := 0
		backlog(b, db, w, 100000, at.Add(-time.Hour), func(d *store.Delivery) {
			if n++; n%5000 == 0 {
				d.Status, d.LastError = store.DeliveryFailed, "gave up"
			} else {
				d.Status, d.DeliveredAt = store.DeliverySucceeded, &at
			}
		})
		b.ResetTimer()
		for b.Loop() {
			ds, total, _, err := db.FindDeliveryPage(ctx, store.DeliveryPage{DeliveryFilter: store.DeliveryFilter{Status: store.DeliveryFailed, Limit: 10}})
			if err != nil || len(ds) != 10 || total != 20 {
				b.Fatal(err, len(ds), total)
			}
		}
	})
}

// BenchmarkPromoteLaneHeads_Backlog is the heartbeat's look for lanes' heads left waiting,
// with 15,000 deliveries waiting in 100 lanes of an ordered webhook (a publish running
// ahead of its receiver), on tables without statistics, as a new database's are until
// autovacuum analyzes them. (laneHead as NOT EXISTS: 17 ms on SQLite, 53 ms on
// PostgreSQL here, where the planner kept the lanes' index lookup per delivery; in the
// bench's ordered load PostgreSQL chose a nested loop reading the whole index for each
// delivery instead, and the look ran for minutes.)
func BenchmarkPromoteLaneHeads_Backlog(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		at := time.Now().UTC().Truncate(time.Millisecond)
		i := 0
		backlog(b, db, w, 15000, at, func(d *store.Delivery) {
			lane := fmt.Sprintf("k%d", i%100)
			i++
			d.Lane = &lane
		})
		ctx := context.Background()
		if n, err := db.PromoteLaneHeads(ctx); err != nil || n != 100 {
			b.Fatal(n, err)
		}
		b.ResetTimer()
		for b.Loop() {
			if n, err := db.PromoteLaneHeads(ctx); err != nil || n != 0 {
				b.Fatal(n, err)
			}
		}
	})
}
