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

// A replica whose attempts are merely slow (in flight, or parked behind a slow one, for
// far longer than a replica may go silent) keeps its claims: another replica watching
// the heartbeats never sends them a second time.
func TestReplicas_SlowAttemptsAreNotRescued(t *testing.T) {
	if !storetestHasPostgres() {
		t.Skip("needs TEST_DATABASE_URL: replicas share a PostgreSQL database")
	}
	db := storetest.OpenDSN(t, storetest.PostgresDSN(t))
	cfg := delivery.Config{PerEndpoint: 1, Heartbeat: 200 * time.Millisecond} // silent after 1 s
	a := start(t, db, cfg)
	b := start(t, db, cfg)
	rcv := newReceiver(t, func(int, http.ResponseWriter) { time.Sleep(2500 * time.Millisecond) })
	a.webhook(t, rcv.URL, nil)
	var ids []string
	for range 3 {
		ids = append(ids, a.publish(t, delivery.PublishInput{Type: "user.created"}).ID)
	}
	for _, id := range ids {
		if ds := a.settled(t, id, 30*time.Second); ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != 1 {
			t.Errorf("delivery: %+v", ds[0])
		}
	}
	a.quiet(t)
	b.quiet(t)
	seen := map[string]int{}
	for _, r := range rcv.requests() {
		seen[r.header.Get("webhook-id")]++
	}
	if len(seen) != len(ids) || len(rcv.requests()) != len(ids) {
		t.Errorf("%d requests for %d deliveries: %v", len(rcv.requests()), len(ids), seen)
	}
}

// The claims of a replica whose heartbeat stopped are sent by another long before they
// run out; those of a replica still beating are left to it.
func TestReplicas_SilentReplicasClaimsAreSent(t *testing.T) {
	if !storetestHasPostgres() {
		t.Skip("needs TEST_DATABASE_URL: replicas share a PostgreSQL database")
	}
	db := storetest.OpenDSN(t, storetest.PostgresDSN(t))
	ctx := context.Background()
	rcv := newReceiver(t, nil)
	h := &harness{db: db}
	w := h.webhook(t, rcv.URL, nil)
	until := time.Now().Add(10 * time.Minute)
	claimedBy := func(id, replica string) store.Delivery {
		ev := &store.Event{ID: "evt_" + id, Type: "user.created", Data: []byte(`{}`), OccurredAt: time.Now()}
		d := store.Delivery{ID: "msg_" + id, EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create",
			Status: store.DeliveryPending, ClaimedUntil: &until, ClaimedBy: replica}
		if err := storetest.CreateEvent(ctx, db, ev, []store.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	dead, alive := claimedBy("dead", "rep_dead"), claimedBy("alive", "rep_alive")
	if err := db.Heartbeat(ctx, "rep_dead", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // rep_alive keeps beating
		for {
			_ = db.Heartbeat(ctx, "rep_alive", time.Now())
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	e := start(t, db, delivery.Config{Heartbeat: 100 * time.Millisecond}) // judges others after 500 ms
	got := rcv.wait(t, 1, 10*time.Second)
	if id := got[0].header.Get("webhook-id"); id != dead.ID {
		t.Fatalf("sent %s, want the silent replica's %s", id, dead.ID)
	}
	if ds := h.settled(t, dead.EventID, 5*time.Second); ds[0].Status != store.DeliverySucceeded {
		t.Errorf("silent replica's delivery: %+v", ds[0])
	}
	// Judged again, rep_alive is still beating: its claim stays.
	if err := e.engine.Rescue(ctx); err != nil {
		t.Fatal(err)
	}
	e.quiet(t)
	if d, _ := db.GetDelivery(ctx, alive.ID); d.Status != store.DeliveryPending || d.ClaimedUntil == nil || d.ClaimedBy != "rep_alive" {
		t.Errorf("a beating replica's claim was taken: %+v", d)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
