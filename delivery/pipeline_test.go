package delivery_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// Every attempt reads the webhook as it is when the attempt is made, not as it was when
// the event was published: these tests change a webhook while its endpoint hangs, with
// one attempt in flight and the rest of its deliveries waiting for a place.

// hang is an endpoint that holds every request until it is let go.
type hang struct {
	*receiver
	once    sync.Once
	release chan struct{}
}

func newHang(t *testing.T) *hang {
	h := &hang{release: make(chan struct{})}
	h.receiver = newReceiver(t, func(int, http.ResponseWriter) { <-h.release })
	t.Cleanup(h.letGo)
	return h
}

func (h *hang) letGo() { h.once.Do(func() { close(h.release) }) }

// hangWith publishes n events to a webhook on a hanging endpoint with one place, and
// returns once the first attempt is in flight.
func hangWith(t *testing.T, db *store.DB, n int, edit func(*store.Webhook)) (*harness, *hang, *store.Webhook, []string) {
	return hangOn(t, db, "user.created", n, edit)
}

// hangOn is hangWith for events of a type other webhooks of the test do not take.
func hangOn(t *testing.T, db *store.DB, typ string, n int, edit func(*store.Webhook)) (*harness, *hang, *store.Webhook, []string) {
	t.Helper()
	h := start(t, db, delivery.Config{PerEndpoint: 1, Heartbeat: 100 * time.Millisecond, Clock: &delivery.TestClock{}})
	end := newHang(t)
	w := h.webhook(t, end.URL, func(w *store.Webhook) {
		w.Events = []string{map[string]string{"user.created": "user.create", "user.deleted": "user.delete"}[typ]}
		w.ReadTimeout = 60000
		if edit != nil {
			edit(w)
		}
	})
	var ids []string
	for range n {
		ids = append(ids, h.publish(t, delivery.PublishInput{Type: typ}).ID)
	}
	// The hanging requests never count as arrived: look at what was received.
	eventually(t, 10*time.Second, func() bool { return len(end.requests()) > 0 }, func() string { return "the first attempt did not arrive" })
	return h, end, w, ids
}

func keyOf(w *store.Webhook) store.WebhookKey {
	return store.WebhookKey{Dialect: w.Dialect, Owner: w.Owner, ExternalID: w.ExternalID}
}

// status collects the events' deliveries' states.
func (h *harness) states(t *testing.T, ids []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, id := range ids {
		ds, err := h.db.DeliveriesOfEvent(context.Background(), id)
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries of %s: %+v %v", id, ds, err)
		}
		st := ds[0].Status
		if st == store.DeliveryPending && ds[0].HeldAt != nil {
			st = "held"
		}
		out[st]++
	}
	return out
}

// A webhook deleted while its endpoint hangs receives nothing more: its waiting
// deliveries are cancelled, and so is a delivery waiting for a retry.
func TestPipeline_DeletedDuringHang(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h, end, w, ids := hangWith(t, db, 6, nil)
		// A second webhook whose delivery waits for a retry.
		fail := newReceiver(t, func(_ int, rw http.ResponseWriter) { rw.WriteHeader(500) })
		w2 := h.webhook(t, fail.URL, func(w *store.Webhook) {
			w.Events = []string{"user.delete"}
			w.Retry = &store.Retry{Enabled: true, Count: 3, Delay: 1, DelayUnit: "Second"}
		})
		retrying := h.publish(t, delivery.PublishInput{Type: "user.deleted"}).ID
		fail.wait(t, 1, 10*time.Second)

		for _, x := range []*store.Webhook{w, w2} {
			if err := db.DeleteWebhook(context.Background(), keyOf(x)); err != nil {
				t.Fatal(err)
			}
		}
		end.letGo()
		h.quiet(t)
		h.clock.Advance(2 * time.Second) // past the retry's time
		h.quiet(t)
		if got := h.states(t, append(ids, retrying)); got[store.DeliveryCancelled] != len(ids) { // all but the one in flight, and the retry
			t.Fatalf("states: %v", got)
		}
		if n := len(end.requests()); n != 1 {
			t.Errorf("the deleted webhook's endpoint got %d requests, want the 1 in flight", n)
		}
		if n := len(fail.requests()); n != 1 {
			t.Errorf("the deleted webhook's retry was sent: %d requests", n)
		}
	})
}

// A webhook disabled while its endpoint hangs (by its owner, or by the gateway) holds
// its deliveries, without failing them and without sending them; enabling it sends every
// one.
func TestPipeline_DisabledDuringHangIsHeldThenSent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for how, typ := range map[string]string{"owner": "user.created", "gateway": "user.deleted"} {
			t.Run(how, func(t *testing.T) {
				h, end, w, ids := hangOn(t, db, typ, 5, nil)
				ctx := context.Background()
				var err error
				if how == "owner" {
					_, err = db.UpdateWebhook(ctx, keyOf(w), func(w *store.Webhook) error { w.Enabled = false; return nil })
				} else {
					err = db.DisableWebhook(ctx, w.ID, "operator")
				}
				if err != nil {
					t.Fatal(err)
				}
				end.letGo()
				h.quiet(t)
				if got := h.states(t, ids); got["held"] != len(ids)-1 || got[store.DeliverySucceeded] != 1 {
					t.Fatalf("states: %v", got)
				}
				h.clock.Advance(time.Minute) // the scheduler's looks leave held deliveries held
				h.quiet(t)
				if n := len(end.requests()); n != 1 {
					t.Fatalf("the disabled webhook's endpoint got %d requests, want the 1 in flight", n)
				}
				if how == "owner" {
					_, err = db.UpdateWebhook(ctx, keyOf(w), func(w *store.Webhook) error { w.Enabled = true; return nil })
				} else {
					err = db.EnableWebhook(ctx, w.ID)
				}
				if err != nil {
					t.Fatal(err)
				}
				end.wait(t, len(ids), 15*time.Second)
				for _, id := range ids {
					if ds := h.settled(t, id, 10*time.Second); ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != 1 {
						t.Errorf("after enable: %+v", ds[0])
					}
				}
				if n := len(end.requests()); n != len(ids) {
					t.Errorf("%d requests for %d deliveries", n, len(ids))
				}
			})
		}
	})
}

// A webhook changed while its endpoint hangs: the waiting deliveries go to its new URL,
// with its new custom header, signed with its new secret.
func TestPipeline_ChangedDuringHangSendsTheCurrentWebhook(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h, end, w, ids := hangWith(t, db, 5, func(w *store.Webhook) {
			w.Headers = map[string]string{"X-Api-Key": "old"}
		})
		moved := newReceiver(t, nil)
		oldSecret := w.SigningSecrets[0].Secret
		if _, err := db.UpdateWebhook(context.Background(), keyOf(w), func(w *store.Webhook) error {
			w.URL = moved.URL
			w.Headers = map[string]string{"X-Api-Key": "new"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		rotated, err := db.RotateSigningSecret(context.Background(), w.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		end.letGo()
		got := moved.wait(t, len(ids)-1, 15*time.Second)
		verifier, err := standardwebhooks.NewWebhook(rotated.SigningSecrets[0].Secret)
		if err != nil {
			t.Fatal(err)
		}
		old, err := standardwebhooks.NewWebhook(oldSecret)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if v := r.header.Get("X-Api-Key"); v != "new" {
				t.Errorf("X-Api-Key %q, want the new value", v)
			}
			if err := verifier.Verify(r.body, r.header); err != nil {
				t.Errorf("not signed with the new secret: %v", err)
			}
			if err := old.Verify(r.body, r.header); err == nil {
				t.Errorf("still signed with the secret rotated out")
			}
		}
		for _, id := range ids {
			if ds := h.settled(t, id, 10*time.Second); ds[0].Status != store.DeliverySucceeded {
				t.Errorf("delivery: %+v", ds[0])
			}
		}
		if n := len(end.requests()); n != 1 {
			t.Errorf("the old URL got %d requests, want the 1 in flight", n)
		}
	})
}
