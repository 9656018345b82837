package delivery_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A paused webhook keeps its events: new ones make deliveries that wait, held and
// unattempted, as does a retry that comes due while paused; resuming sends them all, and
// no attempt was spent on the wait.
func TestPause_KeepsEventsAndResumeSendsThem(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := &delivery.TestClock{}
		h := start(t, db, delivery.Config{Clock: clock})
		rcv := newReceiver(t, func(n int, w http.ResponseWriter) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(503)
			}
		})
		w := h.webhook(t, rcv.URL, nil)
		if err := h.engine.Pause(ctx, "no-such-webhook"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Fatalf("pause an unknown webhook: %v", err)
		}
		if err := h.engine.Resume(ctx, "no-such-webhook"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Fatalf("resume an unknown webhook: %v", err)
		}
		// The first event's first attempt fails; its retry comes due while paused.
		retried := h.publish(t, delivery.PublishInput{Type: "user.created"})
		rcv.wait(t, 1, 10*time.Second)
		if err := h.engine.Pause(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		got, err := db.WebhookByID(ctx, w.ID)
		if err != nil || got.PausedAt == nil {
			t.Fatalf("paused webhook: %+v %v", got, err)
		}
		var waited []string
		for range 3 {
			ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
			if ev.Deliveries != 1 {
				t.Fatalf("a paused webhook matched %d deliveries, want 1", ev.Deliveries)
			}
			waited = append(waited, ev.ID)
		}
		for _, id := range waited {
			if d := h.held(t, id, 5*time.Second); d.Attempts != 0 {
				t.Errorf("held delivery spent attempts: %+v", d)
			}
		}
		// The retry is due after a second: it is held, not sent, and spends nothing.
		clock.Advance(time.Second)
		h.quiet(t)
		d := h.held(t, retried.ID, 10*time.Second)
		clock.Advance(time.Minute) // the scheduler's looks release no hold of a paused webhook
		h.quiet(t)
		if n := len(rcv.requests()); n != 1 || d.Attempts != 1 {
			t.Fatalf("while paused: %d requests, retried delivery %+v", n, d)
		}
		if err := h.engine.Resume(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		for _, id := range append(waited, retried.ID) {
			ds := h.settled(t, id, 10*time.Second)
			if want := map[bool]int{true: 2, false: 1}[id == retried.ID]; ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != want {
				t.Errorf("after resume, %s: %+v, want succeeded in %d attempts", id, ds[0], want)
			}
		}
		if got, _ := db.WebhookByID(ctx, w.ID); got.PausedAt != nil {
			t.Errorf("resumed webhook still paused: %+v", got.PausedAt)
		}
		if n := len(rcv.requests()); n != 5 {
			t.Errorf("%d requests, want 5", n)
		}
	})
}

// Pause does not override disable: resuming a disabled webhook leaves its deliveries held
// until it is enabled; enabling a paused one leaves them held until it is resumed.
func TestPause_AndDisableBothHold(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := start(t, db, delivery.Config{Heartbeat: 100 * time.Millisecond})
		rcv := newReceiver(t, nil)
		w := h.webhook(t, rcv.URL, nil)
		if err := h.engine.Pause(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
		h.held(t, ev.ID, 5*time.Second)
		if err := db.DisableWebhook(ctx, w.ID, "operator"); err != nil {
			t.Fatal(err)
		}
		if err := h.engine.Resume(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.EnableWebhook(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if err := h.engine.Pause(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		h.quiet(t) // the scheduler's look releases what may go
		if n := len(rcv.requests()); n != 0 {
			t.Fatalf("sent while disabled or paused: %d", n)
		}
		h.held(t, ev.ID, time.Second)
		if err := h.engine.Resume(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if ds := h.settled(t, ev.ID, 10*time.Second); ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != 1 {
			t.Errorf("after enable and resume: %+v", ds[0])
		}
	})
}
