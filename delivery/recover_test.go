package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A recovery leaves deliveries still retrying to their schedule and counts them; with
// IncludeRetrying it sends them now, once each: their scheduled job is brought forward,
// not doubled.
func TestRecoverIncludesRetrying(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := start(t, db, delivery.Config{})
		var down atomic.Bool
		down.Store(true)
		var okCount atomic.Int32
		rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
			if down.Load() {
				w.WriteHeader(503)
				return
			}
			okCount.Add(1)
		})
		// One retry an hour: without the recovery, nothing more happens during the test.
		w := h.webhook(t, rcv.URL, func(w *store.Webhook) {
			w.Retry = &store.Retry{Enabled: true, Count: 3, Delay: 1, DelayUnit: "Hour"}
		})
		since := time.Now().Add(-time.Minute)
		var ids []string
		for i := 0; i < 3; i++ {
			ids = append(ids, h.publish(t, delivery.PublishInput{Type: "user.created"}).ID)
		}
		ctx := context.Background()
		h.quiet(t)
		for _, id := range ids {
			if d := onlyDelivery(t, db, id); d.Attempts != 1 || d.ClaimedUntil != nil || d.NextAttemptAt == nil {
				t.Fatalf("first attempt not recorded: %+v", d)
			}
		}
		down.Store(false)
		finished := func(r *store.Recovery) {
			t.Helper()
			var got *store.Recovery
			var err error
			eventually(t, 10*time.Second, func() bool {
				got, err = db.GetRecovery(ctx, r.ID)
				return err == nil && got.Status == store.RecoveryDone
			}, func() string { return fmt.Sprintf("recovery did not finish: %+v %v", got, err) })
		}

		r, err := h.engine.Recover(ctx, w.ID, since)
		if err != nil || r.Total != 0 || r.Retrying != 3 {
			t.Fatalf("recover: %+v %v", r, err)
		}
		finished(r)
		h.quiet(t)
		if n := okCount.Load(); n != 0 {
			t.Fatalf("a recovery without IncludeRetrying sent %d retrying deliveries", n)
		}

		r, err = h.engine.RecoverWith(ctx, w.ID, since, delivery.RecoverOptions{IncludeRetrying: true})
		if err != nil || r.Retrying != 3 || !r.IncludeRetrying {
			t.Fatalf("recover including retrying: %+v %v", r, err)
		}
		finished(r)
		for _, id := range ids {
			if ds := h.settled(t, id, 10*time.Second); ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != 2 {
				t.Errorf("after recovery: %+v", ds[0])
			}
		}
		h.quiet(t)
		if n := okCount.Load(); n != 3 {
			t.Errorf("the endpoint got %d successful requests, want 3 (one per delivery)", n)
		}
	})
}
