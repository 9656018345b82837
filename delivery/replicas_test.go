package delivery_test

import (
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
	start(t, db, cfg)
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
	time.Sleep(500 * time.Millisecond)
	seen := map[string]int{}
	for _, r := range rcv.requests() {
		seen[r.header.Get("webhook-id")]++
	}
	if len(seen) != len(ids) || len(rcv.requests()) != len(ids) {
		t.Errorf("%d requests for %d deliveries: %v", len(rcv.requests()), len(ids), seen)
	}
}
