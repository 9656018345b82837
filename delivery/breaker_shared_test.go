package delivery_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// openings reads polyhook_breaker_openings_total from an engine's metrics.
func openings(t *testing.T, h *harness) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(h.engine.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "polyhook_breaker_openings_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no polyhook_breaker_openings_total")
	return 0
}

// openedSince waits until an engine's polyhook_breaker_openings_total has risen above
// before: the opening is counted once the replica that wrote it has its answer, a moment
// after the row is seen.
func openedSince(t *testing.T, h *harness, before float64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); openings(t, h) < before+1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("polyhook_breaker_openings_total rose by %v, want at least 1", openings(t, h)-before)
			return
		}
	}
}

// circuit waits until a webhook's circuit, as an engine reports it, is in state.
func circuit(t *testing.T, h *harness, webhookID, state string, within time.Duration) delivery.Circuit {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		cs, err := h.engine.Circuits(context.Background(), []string{webhookID})
		if err != nil {
			t.Fatal(err)
		}
		if c := cs[webhookID]; c.State == state {
			return c
		} else if time.Now().After(deadline) {
			t.Fatalf("circuit %+v, want %s", c, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A breaker opened by one replica pauses the endpoint on the other: the events the other
// publishes while it is open are not attempted (only one probe per pause, from either),
// both report it open, the opening is counted once, and once the endpoint answers the
// probe closes it for both and every delivery is sent.
func TestBreaker_OpenedOnOneReplicaPausesTheOther(t *testing.T) {
	if !storetestHasPostgres() {
		t.Skip("needs TEST_DATABASE_URL: replicas share a PostgreSQL database")
	}
	db := storetest.OpenDSN(t, storetest.PostgresDSN(t))
	cfg := delivery.Config{Heartbeat: 200 * time.Millisecond}
	a, b := start(t, db, cfg), start(t, db, cfg)
	var failing atomic.Bool
	failing.Store(true)
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	w := a.webhook(t, rcv.URL, nil)
	before := openings(t, a)
	var evs []*store.Event
	for range 5 {
		evs = append(evs, a.publish(t, delivery.PublishInput{Type: "user.created"}))
	}
	rcv.wait(t, 5, 10*time.Second)
	opened := circuit(t, a, w.ID, store.CircuitOpen, 5*time.Second)
	if opened.Until == nil || opened.Until.Before(time.Now().Add(-time.Second)) {
		t.Fatalf("open circuit: %+v", opened)
	}
	// The other replica sees it (from the database) ...
	if c := circuit(t, b, w.ID, store.CircuitOpen, time.Second); c.Until == nil || !c.Until.Equal(*opened.Until) {
		t.Errorf("the other replica's view: %+v, want %+v", c, opened)
	}
	// ... and, once its poll has read it, does not attempt what it publishes.
	time.Sleep(500 * time.Millisecond)
	sent := len(rcv.requests())
	for range 20 {
		evs = append(evs, b.publish(t, delivery.PublishInput{Type: "user.created"}))
	}
	// Pauses of 1 s, then 2 s after a failed probe: at most 2 probes in 3 s, where a
	// breaker of its own would have let the other replica send 5 first.
	time.Sleep(3 * time.Second)
	if n := len(rcv.requests()) - sent; n > 2 {
		t.Errorf("%d requests in 3 s after publishing 20 events on the other replica while open, want at most 2 probes", n)
	}
	openedSince(t, a, before)
	failing.Store(false)
	for _, ev := range evs {
		if ds := b.settled(t, ev.ID, 60*time.Second); ds[0].Status != store.DeliverySucceeded {
			t.Fatalf("delivery %s: %s, want succeeded once the endpoint answers", ds[0].ID, ds[0].Status)
		}
	}
	circuit(t, a, w.ID, store.CircuitClosed, time.Second)
	circuit(t, b, w.ID, store.CircuitClosed, time.Second)
}

// On SQLite the breaker is kept in the database too: it shows open, and an engine
// started on the same file later (a restart) keeps the endpoint paused until its probe.
func TestBreaker_KeptAcrossARestart(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var failing atomic.Bool
		failing.Store(true)
		rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
			if failing.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		a := start(t, db, delivery.Config{})
		w := a.webhook(t, rcv.URL, nil)
		before := openings(t, a)
		for range 5 {
			a.publish(t, delivery.PublishInput{Type: "user.created"})
		}
		rcv.wait(t, 5, 10*time.Second)
		circuit(t, a, w.ID, store.CircuitOpen, 5*time.Second)
		openedSince(t, a, before)
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.engine.Stop(stop); err != nil {
			t.Fatal(err)
		}
		// Restarted: the probe of the pause opened before goes first, and fails again.
		b := start(t, db, delivery.Config{})
		sent := len(rcv.requests())
		var evs []*store.Event
		for range 10 {
			evs = append(evs, b.publish(t, delivery.PublishInput{Type: "user.created"}))
		}
		time.Sleep(500 * time.Millisecond)
		if n := len(rcv.requests()) - sent; n > 2 {
			t.Errorf("after a restart the open endpoint got %d requests for 10 events, want a probe at most", n)
		}
		failing.Store(false)
		for _, ev := range evs {
			if ds := b.settled(t, ev.ID, 30*time.Second); ds[0].Status != store.DeliverySucceeded {
				t.Fatalf("after the restart: %+v", ds[0])
			}
		}
		circuit(t, b, w.ID, store.CircuitClosed, 5*time.Second)
	})
}
