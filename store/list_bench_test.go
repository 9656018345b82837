package store_test

import (
	"context"
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
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		delivered(b, db, w, 100000)
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
		delivered(b, db, w, 100000)
		b.ResetTimer()
		for b.Loop() {
			if ds, _, _, err := db.FindDeliveryPage(ctx, store.DeliveryPage{DeliveryFilter: store.DeliveryFilter{Limit: 50}}); err != nil || len(ds) != 50 {
				b.Fatal(err, len(ds))
			}
		}
	})
}
