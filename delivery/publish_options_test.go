package delivery_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// Publishes that say their id is new skip the read for it; a duplicate among them is
// still found (by the insert's conflict), in a group commit too, on both backends.
func TestPublish_FreshIDsStillDeduplicated(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, nil)
		h := start(t, db, delivery.Config{})
		h.webhook(t, rcv.URL, nil)
		const n = 40
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created = map[string]int{}
			errs    []error
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("evt-fresh-%d", i%(n/2)) // every id twice
				ev, made, err := h.engine.Publish(context.Background(), delivery.PublishInput{ID: id, Type: "user.created", Fresh: true})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				if ev.ID != id {
					errs = append(errs, fmt.Errorf("%s answered as %s", id, ev.ID))
				}
				if made {
					created[ev.ID]++
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		if len(created) != n/2 {
			t.Errorf("created %d events, want %d", len(created), n/2)
		}
		for id, c := range created {
			if c != 1 {
				t.Errorf("%s created %d times", id, c)
			}
		}
		rcv.wait(t, n/2, 15*time.Second)
		h.quiet(t)
		if got := len(rcv.requests()); got != n/2 {
			t.Errorf("the receiver got %d requests, want %d", got, n/2)
		}
	})
}

// Exclude keeps an event from the webhooks it reports; Unlisted takes a native name the
// dialect does not list, which is refused without it.
func TestPublish_ExcludeAndUnlisted(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	rcv := newReceiver(t, nil)
	h := start(t, db, delivery.Config{})
	kept := h.webhook(t, rcv.URL+"/kept", nil)
	skipped := h.webhook(t, rcv.URL+"/skipped", nil)
	ev, _, err := h.engine.Publish(context.Background(), delivery.PublishInput{Type: "user.created",
		Exclude: func(w *store.Webhook) bool { return w.ID == skipped.ID }})
	if err != nil || ev.Deliveries != 1 {
		t.Fatalf("publish with Exclude: %+v %v", ev, err)
	}
	ds, err := db.DeliveriesOfEvent(context.Background(), ev.ID)
	if err != nil || len(ds) != 1 || ds[0].WebhookID != kept.ID {
		t.Errorf("deliveries: %+v %v", ds, err)
	}
	if _, _, err := h.engine.Publish(context.Background(), delivery.PublishInput{Type: "fusionauth:user.not-listed"}); store.ErrorCode(err) != store.EINVALID {
		t.Errorf("an unlisted name without Unlisted: %v", err)
	}
	ev, made, err := h.engine.Publish(context.Background(), delivery.PublishInput{Type: "fusionauth:user.not-listed", Unlisted: true})
	if err != nil || !made || ev.Type != "fusionauth:user.not-listed" || ev.Deliveries != 0 {
		t.Errorf("an unlisted name with Unlisted: %+v %v", ev, err)
	}
}
