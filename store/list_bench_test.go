package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
)

// BenchmarkFindDeliveryPage_WebhookHistory is the console's webhook page, its deliveries
// refreshed every few seconds, with 100,000 deliveries kept.
func BenchmarkFindDeliveryPage_WebhookHistory(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Millisecond)
		n := 0
		backlog(b, db, w, 100000, at.Add(-time.Hour), func(d *store.Delivery) {
			n++
			d.CreatedAt = d.CreatedAt.Add(time.Duration(n) * time.Millisecond)
			d.Status, d.DeliveredAt = store.DeliverySucceeded, &at
		})
		b.ResetTimer()
		for b.Loop() {
			if ds, _, _, err := db.FindDeliveryPage(ctx, store.DeliveryPage{DeliveryFilter: store.DeliveryFilter{WebhookID: w.ID, Limit: 50}}); err != nil || len(ds) != 50 {
				b.Fatal(err, len(ds))
			}
		}
	})
}

// BenchmarkFindDeliveryPage_Unfiltered is the console's deliveries page with no filter,
// refreshed every few seconds, with 100,000 deliveries kept. (Without an index on the
// deliveries' creation time each request sorted them all: 96 ms on SQLite.)
func BenchmarkFindDeliveryPage_Unfiltered(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Millisecond)
		n := 0
		backlog(b, db, w, 100000, at.Add(-time.Hour), func(d *store.Delivery) {
			n++
			d.CreatedAt = d.CreatedAt.Add(time.Duration(n) * time.Millisecond)
			d.Status, d.DeliveredAt = store.DeliverySucceeded, &at
		})
		b.ResetTimer()
		for b.Loop() {
			if ds, _, _, err := db.FindDeliveryPage(ctx, store.DeliveryPage{DeliveryFilter: store.DeliveryFilter{Limit: 50}}); err != nil || len(ds) != 50 {
				b.Fatal(err, len(ds))
			}
		}
	})
}
