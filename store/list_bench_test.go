package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
)

// delivered stores n delivered events to w, each with its delivery, made a millisecond
// apart in the last hour.
func delivered(b *testing.B, db *store.DB, w *store.Webhook, n int) {
	b.Helper()
	at := time.Now().UTC().Truncate(time.Millisecond)
	i := 0
	backlog(b, db, w, n, at.Add(-time.Hour), func(d *store.Delivery) {
		i++
		d.CreatedAt = d.CreatedAt.Add(time.Duration(i) * time.Millisecond)
		d.Status, d.DeliveredAt = store.DeliverySucceeded, &at
	})
}

// BenchmarkFindDeliveryPage_WebhookHistory is the console's webhook page, its deliveries
// refreshed every few seconds, with 100,000 deliveries kept.
func BenchmarkFindDeliveryPage_WebhookHistory(b *testing.B) {
	benchmarkDeliveryPage(b, func(w *store.Webhook) store.DeliveryFilter { return store.DeliveryFilter{WebhookID: w.ID} })
}

// BenchmarkFindDeliveryPage_Unfiltered is the console's deliveries page with no filter,
// refreshed every few seconds, with 100,000 deliveries kept. (Without an index on the
// deliveries' creation time each request sorted them all: 96 ms on SQLite.)
func BenchmarkFindDeliveryPage_Unfiltered(b *testing.B) {
	benchmarkDeliveryPage(b, func(*store.Webhook) store.DeliveryFilter { return store.DeliveryFilter{} })
}

// benchmarkDeliveryPage asks for pages of 50 of the deliveries filter selects, among
// 100,000 delivered to one webhook.
func benchmarkDeliveryPage(b *testing.B, filter func(*store.Webhook) store.DeliveryFilter) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		delivered(b, db, w, 100000)
		f := filter(w)
		f.Limit = 50
		b.ResetTimer()
		for b.Loop() {
			if ds, _, _, err := db.FindDeliveryPage(ctx, store.DeliveryPage{DeliveryFilter: f}); err != nil || len(ds) != 50 {
				b.Fatal(err, len(ds))
			}
		}
	})
}

// eventsWithRare stores n events made a millisecond apart in the last hour, one in every
// 5,000 of type user.deleted and tenant t-rare, the others user.created without a tenant.
func eventsWithRare(b *testing.B, db *store.DB, n int) {
	b.Helper()
	at := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	for i := 0; i < n; i += 500 {
		var evs []*store.Event
		for j := range min(500, n-i) {
			ev := &store.Event{ID: fmt.Sprintf("evt_%d", i+j), Type: "user.created", Data: []byte(`{}`)}
			if (i+j)%5000 == 0 {
				ev.Type, ev.Tenant = "user.deleted", "t-rare"
			}
			ev.OccurredAt = at.Add(time.Duration(i+j) * time.Millisecond)
			ev.CreatedAt = ev.OccurredAt
			evs = append(evs, ev)
		}
		if err := db.CreateEvents(context.Background(), evs, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFindEvents_RareType is the console's events page filtered by a type 20 of
// 100,000 events have. (Without an index on the type, the page and its count read every
// event: 24 ms on SQLite, 22–27 ms on PostgreSQL.)
func BenchmarkFindEvents_RareType(b *testing.B) {
	benchmarkFindEvents(b, store.EventFilter{Type: "user.deleted", Limit: 50})
}

// BenchmarkFindEvents_RareTenant is the console's events page filtered by a tenant 20 of
// 100,000 events have.
func BenchmarkFindEvents_RareTenant(b *testing.B) {
	benchmarkFindEvents(b, store.EventFilter{Tenant: "t-rare", Limit: 50})
}

func benchmarkFindEvents(b *testing.B, f store.EventFilter) {
	eachBackend(b, func(b *testing.B, db *store.DB, _ *store.Webhook) {
		eventsWithRare(b, db, 100000)
		b.ResetTimer()
		for b.Loop() {
			if evs, total, err := db.FindEvents(context.Background(), f); err != nil || len(evs) != 20 || total != 20 {
				b.Fatal(err, len(evs), total)
			}
		}
	})
}

// BenchmarkFindEventPage_Deep is a page of 50 events deep in 100,000: at the deepest
// offset served (10,000, the count's cap), and by cursor at 90,000. (An offset of 90,000
// read the 90,000 it skipped: 62 ms on SQLite, 23 ms on PostgreSQL.)
func BenchmarkFindEventPage_Deep(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, _ *store.Webhook) {
		ctx := context.Background()
		eventsWithRare(b, db, 100000)
		db.CountCap = 1 << 40
		evs, _, err := db.FindEvents(ctx, store.EventFilter{Offset: 89999, Limit: 1})
		db.CountCap = store.DefaultCountCap
		if err != nil || len(evs) != 1 {
			b.Fatal(err, len(evs))
		}
		for name, p := range map[string]store.EventPage{
			"offset":      {EventFilter: store.EventFilter{Offset: 10000, Limit: 50}},
			"cursor_deep": {EventFilter: store.EventFilter{Limit: 50}, After: store.EventCursor(&evs[0])},
		} {
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					if evs, _, _, err := db.FindEventPage(ctx, p); err != nil || len(evs) != 50 {
						b.Fatal(err, len(evs))
					}
				}
			})
		}
	})
}

// BenchmarkFindDeliveryPage_Deep is a page of 50 deliveries deep in 100,000: at the
// deepest offset served (10,000), and by cursor at 90,000. (An offset of 90,000 read the
// 90,000 it skipped: 83 ms on SQLite, 37 ms on PostgreSQL.)
func BenchmarkFindDeliveryPage_Deep(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		delivered(b, db, w, 100000)
		db.CountCap = 1 << 40
		ds, _, err := db.FindDeliveries(ctx, store.DeliveryFilter{Offset: 89999, Limit: 1})
		db.CountCap = store.DefaultCountCap
		if err != nil || len(ds) != 1 {
			b.Fatal(err, len(ds))
		}
		for name, p := range map[string]store.DeliveryPage{
			"offset":      {DeliveryFilter: store.DeliveryFilter{Offset: 10000, Limit: 50}},
			"cursor_deep": {DeliveryFilter: store.DeliveryFilter{Limit: 50}, After: store.DeliveryCursor(&ds[0])},
		} {
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					if ds, _, _, err := db.FindDeliveryPage(ctx, p); err != nil || len(ds) != 50 {
						b.Fatal(err, len(ds))
					}
				}
			})
		}
	})
}
