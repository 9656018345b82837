package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// claimedDelivery writes an event with one delivery to w claimed until until, as a
// publishing process that then died would have left it.
func claimedDelivery(t *testing.T, db *store.DB, w *store.Webhook, until time.Time) store.Delivery {
	t.Helper()
	ev := &store.Event{ID: "evt_" + w.ID[:8], Type: "user.created", Data: []byte(`{"user":{"id":"u1"}}`), OccurredAt: time.Now()}
	d := store.Delivery{ID: "msg_" + w.ID[:8], EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect,
		EventName: "user.create", Status: store.DeliveryPending, ClaimedUntil: &until}
	if err := storetest.CreateEvent(context.Background(), db, ev, []store.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	return d
}

// A claim whose process died is sent by another process once it runs out, and not
// before: until then its owner may still be sending it.
func TestClaims_ExpiredClaimIsSentByAnotherProcess(t *testing.T) {
	t.Parallel()
	if !storetestHasPostgres() {
		t.Skip("needs TEST_DATABASE_URL: on SQLite one process owns the file (see the next test)")
	}
	db := storetest.OpenDSN(t, storetest.PostgresDSN(t))
	rcv := newReceiver(t, nil)
	h := &harness{db: db}
	w := h.webhook(t, rcv.URL, nil)
	until := time.Now().Add(1500 * time.Millisecond)
	d := claimedDelivery(t, db, w, until)
	start(t, db, delivery.Config{RescueAfter: 2 * time.Second})
	got := rcv.wait(t, 1, 15*time.Second)
	if got[0].at.Before(until) {
		t.Errorf("sent at %s, before its claim ran out at %s", got[0].at, until)
	}
	if got[0].header.Get("webhook-id") != d.ID {
		t.Errorf("webhook-id %q, want %q", got[0].header.Get("webhook-id"), d.ID)
	}
	ds := h.settled(t, d.EventID, 5*time.Second)
	if ds[0].Status != store.DeliverySucceeded || ds[0].ClaimedUntil != nil {
		t.Errorf("delivery: %+v", ds[0])
	}
}

// On SQLite one process owns the file, so whatever was claimed when the gateway starts
// was claimed by a process that is gone: it is sent at once.
func TestClaims_SQLiteStartSendsEveryClaim(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	rcv := newReceiver(t, nil)
	h := &harness{db: db}
	w := h.webhook(t, rcv.URL, nil)
	d := claimedDelivery(t, db, w, time.Now().Add(time.Hour))
	start(t, db, delivery.Config{})
	rcv.wait(t, 1, 10*time.Second)
	if ds := h.settled(t, d.EventID, 5*time.Second); ds[0].Status != store.DeliverySucceeded {
		t.Errorf("delivery: %+v", ds[0])
	}
}

func storetestHasPostgres() bool {
	for _, b := range storetest.Backends() {
		if b.Name == store.BackendPostgres {
			return true
		}
	}
	return false
}

// Stopping hands the claims not yet tried back, due at once, so that the next start sends
// them; none is left claimed.
func TestClaims_StopHandsUntriedClaimsBack(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		release, started := make(chan struct{}), make(chan struct{})
		var once sync.Once
		slow := newReceiver(t, func(n int, w http.ResponseWriter) {
			if n == 1 {
				close(started)
				<-release
			}
		})
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		h := start(t, db, delivery.Config{Workers: 1, PerEndpoint: 1})
		h.webhook(t, slow.URL, func(w *store.Webhook) { w.ReadTimeout = 20000 })
		var evs []*store.Event
		for range 5 {
			evs = append(evs, h.publish(t, delivery.PublishInput{Type: "user.created"}))
		}
		select { // the first attempt is in flight, the rest wait
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the first attempt did not start")
		}
		stopped := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stopped <- h.engine.Stop(ctx)
		}()
		eventually(t, 10*time.Second, h.engine.Stopping, func() string { return "the stop did not begin" })
		once.Do(func() { close(release) }) // the attempt in flight finishes during the stop
		if err := <-stopped; err != nil {
			t.Fatalf("stop: %v", err)
		}
		var left, due int
		if err := db.SQL().QueryRow("SELECT count(*) FROM deliveries WHERE claimed_until IS NOT NULL").Scan(&left); err != nil || left != 0 {
			t.Fatalf("claims left after a clean stop: %d %v", left, err)
		}
		if err := db.SQL().QueryRow("SELECT count(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at IS NOT NULL").Scan(&due); err != nil || due != 4 {
			t.Fatalf("deliveries due after a clean stop: %d %v, want the 4 untried", due, err)
		}
		h2 := start(t, db, delivery.Config{})
		for _, ev := range evs {
			if ds := h2.settled(t, ev.ID, 15*time.Second); ds[0].Status != store.DeliverySucceeded {
				t.Errorf("delivery after the restart: %+v", ds[0])
			}
		}
		if n := len(slow.requests()); n != 5 {
			t.Errorf("the endpoint got %d requests, want 5 (one per delivery)", n)
		}
	})
}

// Publishes that arrive together are committed together; each gets its own event and
// deliveries, and an id published twice at once is created once.
func TestPublish_ConcurrentGroup(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, nil)
		h := start(t, db, delivery.Config{})
		h.webhook(t, rcv.URL, nil)
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
				id := fmt.Sprintf("evt-group-%d", i%(n/2)) // every id twice
				ev, made, err := h.engine.Publish(context.Background(), delivery.PublishInput{ID: id, Type: "user.created"})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				if made {
					created[ev.ID]++
				}
				if ev.Deliveries != 2 {
					errs = append(errs, fmt.Errorf("%s: %d deliveries, want 2", ev.ID, ev.Deliveries))
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
		rcv.wait(t, n, 15*time.Second) // two webhooks, n/2 events
		h.quiet(t)
		if got := len(rcv.requests()); got != n {
			t.Errorf("the receiver got %d requests, want %d", got, n)
		}
	})
}

// hangUntil returns a receiver whose every request waits for release (or for the test's
// end), with a channel that gets each request as it starts.
func hangUntil(t *testing.T, release <-chan struct{}) (*receiver, <-chan int) {
	started := make(chan int, 100)
	done := make(chan struct{})
	rcv := newReceiver(t, func(n int, w http.ResponseWriter) {
		started <- n
		select {
		case <-release:
		case <-done:
		}
	})
	// After the receiver's own cleanup is registered, so that it runs first: closing the
	// server waits for the requests in flight.
	t.Cleanup(func() { close(done) })
	return rcv, started
}

// waitStarted waits for a request to start.
func waitStarted(t *testing.T, started <-chan int) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first attempt did not start")
	}
}

// onlyDelivery returns an event's one delivery.
func onlyDelivery(t *testing.T, db *store.DB, eventID string) store.Delivery {
	t.Helper()
	ds, err := db.DeliveriesOfEvent(context.Background(), eventID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries of %s: %v %v", eventID, ds, err)
	}
	return ds[0]
}

// A stuck endpoint's new deliveries wait in the publishing process, claimed, not as a
// job each in the queue; when the endpoint answers again they all go out, once each.
func TestClaims_StuckEndpointsBacklogWaitsParked(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		release := make(chan struct{})
		rcv, started := hangUntil(t, release)
		clock := &delivery.TestClock{}
		h := start(t, db, delivery.Config{PerEndpoint: 1, Clock: clock})
		h.webhook(t, rcv.URL, func(w *store.Webhook) { w.ReadTimeout = 30000 })
		evs := []*store.Event{h.publish(t, delivery.PublishInput{Type: "user.created"})}
		waitStarted(t, started)
		clock.Advance(time.Second) // past slotPatience: the endpoint is stuck
		for range 10 {
			evs = append(evs, h.publish(t, delivery.PublishInput{Type: "user.created"}))
		}
		parked(t, h, 10)
		for _, ev := range evs {
			d := onlyDelivery(t, db, ev.ID)
			if d.Status != store.DeliveryPending || d.ClaimedUntil == nil || d.NextAttemptAt != nil {
				t.Fatalf("a delivery to the stuck endpoint is not waiting claimed: %+v", d)
			}
		}
		if n := gauge(t, h.engine, "polyhook_deliveries_parked"); n != 10 {
			t.Errorf("polyhook_deliveries_parked = %v, want 10", n)
		}
		close(release)
		rcv.wait(t, len(evs), 15*time.Second)
		for _, ev := range evs {
			if d := h.settled(t, ev.ID, 10*time.Second)[0]; d.Status != store.DeliverySucceeded || d.Attempts != 1 {
				t.Errorf("delivery: %+v", d)
			}
		}
		h.quiet(t)
		if n := gauge(t, h.engine, "polyhook_deliveries_parked"); n != 0 {
			t.Errorf("polyhook_deliveries_parked = %v once all were sent, want 0", n)
		}
		got := rcv.requests()
		if len(got) != len(evs) {
			t.Fatalf("the endpoint got %d requests, want %d", len(got), len(evs))
		}
		seen := map[string]bool{}
		for _, r := range got {
			seen[r.header.Get("webhook-id")] = true
		}
		for _, ev := range evs {
			if id := onlyDelivery(t, db, ev.ID).ID; !seen[id] {
				t.Errorf("%s never arrived", id)
			}
		}
	})
}

// A parked claim is renewed while it waits, so that it does not run out and get sent a
// second time by the sweep.
func TestClaims_ParkedClaimsAreRenewed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		release := make(chan struct{})
		rcv, started := hangUntil(t, release)
		clock := &delivery.TestClock{}
		h := start(t, db, delivery.Config{PerEndpoint: 1, RescueAfter: 8 * time.Second, Clock: clock})
		h.webhook(t, rcv.URL, func(w *store.Webhook) { w.ReadTimeout = 30000 })
		var evs []*store.Event
		for range 12 {
			evs = append(evs, h.publish(t, delivery.PublishInput{Type: "user.created"}))
		}
		waitStarted(t, started)
		parked(t, h, 11)
		first := map[string]time.Time{} // each parked delivery's first claim end
		for _, ev := range evs {
			if d := onlyDelivery(t, db, ev.ID); d.ClaimedUntil != nil {
				first[ev.ID] = *d.ClaimedUntil
			}
		}
		// A quarter of RescueAfter later the parked claims have less than three quarters
		// of it left: a renewal extends them. The attempt in flight keeps its claim,
		// which bounds it.
		clock.Advance(2500 * time.Millisecond)
		if err := h.engine.Renew(ctx); err != nil {
			t.Fatal(err)
		}
		renewed := 0
		for _, ev := range evs {
			d := onlyDelivery(t, db, ev.ID)
			if d.ClaimedUntil != nil && d.ClaimedUntil.After(first[ev.ID]) {
				renewed++
			}
		}
		if renewed != 11 {
			t.Errorf("%d parked claims were renewed, want 11", renewed)
		}
		close(release)
		for _, ev := range evs {
			if d := h.settled(t, ev.ID, 20*time.Second)[0]; d.Status != store.DeliverySucceeded || d.Attempts != 1 {
				t.Errorf("delivery: %+v", d)
			}
		}
		h.quiet(t)
		if n := len(rcv.requests()); n != len(evs) {
			t.Errorf("the endpoint got %d requests, want %d (one per delivery)", n, len(evs))
		}
	})
}

// parked waits until the engine holds n claims parked.
func parked(t *testing.T, h *harness, n float64) {
	t.Helper()
	var got float64
	eventually(t, 10*time.Second, func() bool {
		got = gauge(t, h.engine, "polyhook_deliveries_parked")
		return got == n
	}, func() string { return fmt.Sprintf("polyhook_deliveries_parked = %v, want %v", got, n) })
}

// When the memory for parked claims is used up, a stuck endpoint's further deliveries
// wait in the queue, due when the endpoint may be free; all are sent once it answers.
func TestClaims_ParkMemoryBoundsTheBacklog(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		release := make(chan struct{})
		rcv, started := hangUntil(t, release)
		// Room for two parked claims of a small event (2 KiB and its data each).
		clock := &delivery.TestClock{}
		h := start(t, db, delivery.Config{PerEndpoint: 1, ParkMemory: 2*2048 + 200, Clock: clock})
		h.webhook(t, rcv.URL, func(w *store.Webhook) { w.ReadTimeout = 30000 })
		evs := []*store.Event{h.publish(t, delivery.PublishInput{Type: "user.created"})}
		waitStarted(t, started)
		clock.Advance(time.Second) // past slotPatience: the endpoint is stuck
		for i := range 6 {
			evs = append(evs, h.publish(t, delivery.PublishInput{Type: "user.created", Data: []byte(`{"n":1}`)}))
			parked(t, h, float64(min(i+1, 2))) // each parked before the next publish asks for room
		}
		// Those that find no room are handed back by a worker, due later: once recorded,
		// three are claimed and four wait.
		var claimed, queued int
		eventually(t, 10*time.Second, func() bool {
			claimed, queued = 0, 0
			for _, ev := range evs {
				d := onlyDelivery(t, db, ev.ID)
				switch {
				case d.ClaimedUntil != nil:
					claimed++
				case d.NextAttemptAt != nil && d.NextAttemptAt.After(clock.Now()):
					queued++
				default:
					t.Errorf("a delivery neither claimed nor queued for later: %+v", d)
				}
			}
			return claimed == 3 && queued == 4
		}, func() string {
			return fmt.Sprintf("%d claimed (want 3: one in flight, two parked), %d queued (want 4)", claimed, queued)
		})
		close(release)
		h.drain(t, evs)
		for _, ev := range evs {
			if d := h.settled(t, ev.ID, 20*time.Second)[0]; d.Status != store.DeliverySucceeded || d.Attempts != 1 {
				t.Errorf("delivery: %+v", d)
			}
		}
	})
}

// gauge reads one of the engine's gauges.
func gauge(t *testing.T, e *delivery.Engine, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	for _, c := range e.Collectors() {
		if g, ok := c.(prometheus.GaugeFunc); ok {
			reg.MustRegister(g)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// A saturated gateway makes its publishers wait for room among the workers rather than
// hand the overflow back, due, which costs the database a write and a claim more per
// delivery: every delivery is sent from its publish's claim, once.
func TestDispatch_SaturatedWorkersMakePublishersWait(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := start(t, db, delivery.Config{Workers: 1})
		rcv := newReceiver(t, func(int, http.ResponseWriter) { time.Sleep(2 * time.Millisecond) })
		h.webhook(t, rcv.URL, nil)
		// More than the 64 claims per worker the workers keep waiting, few enough to be
		// sent well within the 2 s a publisher waits, on a loaded machine too.
		const events = 120
		var wg sync.WaitGroup
		for range events {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := h.engine.Publish(context.Background(), delivery.PublishInput{Type: "user.created"}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		rcv.wait(t, events, 30*time.Second)
		// A claim handed back is still sent once; a publisher waits for room up to
		// dispatchWait, which a heavily loaded test machine may run out of now and then.
		if n := len(rcv.requests()); n != events {
			t.Errorf("%d requests for %d events", n, events)
		}
	})
}

// A failing endpoint's retries cost no job: each failed attempt leaves its delivery due
// again, and the poll for due deliveries claims and sends it.
func TestRetries_NoJobPerFailedAttempt(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := start(t, db, delivery.Config{Clock: &delivery.TestClock{}})
		var mu sync.Mutex
		tries := map[string]int{}
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			tries[r.Header.Get("webhook-id")]++
			n := tries[r.Header.Get("webhook-id")]
			mu.Unlock()
			if n <= 2 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		t.Cleanup(rcv.Close)
		h.webhook(t, rcv.URL, nil)
		var evs []*store.Event
		// Two deliveries failing twice each: four failures in a row, one short of what
		// opens the endpoint's breaker (see TestBreaker_*).
		for range 2 {
			evs = append(evs, h.publish(t, delivery.PublishInput{Type: "user.created"}))
		}
		h.drain(t, evs)
		for _, ev := range evs {
			ds := h.settled(t, ev.ID, 20*time.Second)
			if ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != 3 {
				t.Errorf("delivery %s: %s after %d attempts, want succeeded after 3", ds[0].ID, ds[0].Status, ds[0].Attempts)
			}
		}
		var jobs int64
		if err := db.SQL().QueryRow("SELECT count(*) FROM river_job WHERE kind = 'polyhook.deliver'").Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if jobs != 0 {
			t.Errorf("%d jobs for 4 failed attempts, want none", jobs)
		}
	})
}

// An endpoint that fails every request is left alone between probes: new deliveries to
// it wait, unattempted, and are all sent once it answers again.
func TestBreaker_FailingEndpointIsProbedThenDrained(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &delivery.TestClock{}
		h := start(t, db, delivery.Config{Clock: clock})
		var failing atomic.Bool
		var requests atomic.Int64
		failing.Store(true)
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			if failing.Load() {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusInternalServerError)
			}
		}))
		t.Cleanup(rcv.Close)
		w := h.webhook(t, rcv.URL, nil)
		var evs []*store.Event
		publish := func(n int) {
			for range n {
				evs = append(evs, h.publish(t, delivery.PublishInput{Type: "user.created"}))
			}
		}
		publish(5)
		h.quiet(t) // five failures: the breaker is open for a second, the retries due later
		publish(50)
		h.quiet(t)
		if n := requests.Load(); n > 7 {
			t.Errorf("the endpoint got %d requests for 55 deliveries while open, want the 5 that opened it (and a probe)", n)
		}
		// Published while it is open, they are held: out of the due deliveries, which each
		// pause would otherwise move. One may have been the probe: the test clock runs on
		// with the wall's, and a slow run can outlast the one-second pause.
		probes := 0
		for _, ev := range evs[5:] {
			ds, _, err := db.FindDeliveries(context.Background(), store.DeliveryFilter{EventID: ev.ID})
			if err == nil && len(ds) == 1 && ds[0].HeldAt == nil && ds[0].Attempts == 1 && probes == 0 {
				probes++
				continue
			}
			if err != nil || len(ds) != 1 || ds[0].HeldAt == nil || ds[0].NextAttemptAt != nil {
				t.Fatalf("a delivery published while the breaker is open: %+v %v, want held (or one probe)", ds, err)
			}
		}
		// Paused and resumed while it is open: what waited stays held for the breaker, and
		// a probe still goes once its pause is over, with no new event to carry it.
		if err := h.engine.Pause(context.Background(), w.ID); err != nil {
			t.Fatal(err)
		}
		publish(5)
		if err := h.engine.Resume(context.Background(), w.ID); err != nil {
			t.Fatal(err)
		}
		h.quiet(t)
		failing.Store(false)
		// The next probe, after the pause, succeeds: the breaker closes, and the backlog and
		// the retries are sent as they come due.
		for range 20 {
			clock.Advance(time.Second)
			h.quiet(t)
		}
		for _, ev := range evs {
			ds := h.settled(t, ev.ID, 30*time.Second)
			if ds[0].Status != store.DeliverySucceeded {
				t.Fatalf("delivery %s: %s, want succeeded once the endpoint answers", ds[0].ID, ds[0].Status)
			}
		}
		if n := requests.Load(); n > 5+60+10 {
			t.Errorf("%d requests for 60 deliveries, 5 of them failed once: the open endpoint was tried too often", n)
		}
	})
}

// An endpoint whose breaker holds all it has left (the attempts that opened it were the
// deliveries' last) is still probed once the pause is over, and then drained.
func TestBreaker_ProbedWithOnlyHeldDeliveries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &delivery.TestClock{}
		h := start(t, db, delivery.Config{Clock: clock, MaxAttempts: 1})
		var failing atomic.Bool
		failing.Store(true)
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}))
		t.Cleanup(rcv.Close)
		h.webhook(t, rcv.URL, nil)
		for range 5 {
			h.publish(t, delivery.PublishInput{Type: "user.created"})
		}
		h.quiet(t) // five failures, each its delivery's last: the breaker is open
		var held []*store.Event
		for range 20 {
			held = append(held, h.publish(t, delivery.PublishInput{Type: "user.created"}))
		}
		h.quiet(t)
		failing.Store(false)
		h.drain(t, held)
		for _, ev := range held {
			if ds := h.settled(t, ev.ID, 30*time.Second); ds[0].Status != store.DeliverySucceeded {
				t.Fatalf("delivery %s: %s, want succeeded once the endpoint answers", ds[0].ID, ds[0].Status)
			}
		}
	})
}

// Attempts recorded in a publish's transaction are recorded all the same when that
// transaction fails (a group holding an id published twice): every delivery ends sent
// once, none left claimed.
func TestCommit_AttemptsRecordedWhenTheGroupFails(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := start(t, db, delivery.Config{})
		rcv := newReceiver(t, nil)
		h.webhook(t, rcv.URL, nil)
		const ids = 40
		var wg sync.WaitGroup
		for round := range 3 {
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("evt_dup_%d", i)
					if round == 0 && i%2 == 1 {
						id = fmt.Sprintf("evt_once_%d", i)
					}
					if _, _, err := h.engine.Publish(context.Background(), delivery.PublishInput{ID: id, Type: "user.created"}); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Wait()
		for i := range ids {
			for _, id := range []string{fmt.Sprintf("evt_dup_%d", i), fmt.Sprintf("evt_once_%d", i)} {
				if _, err := db.GetEvent(context.Background(), id); store.ErrorCode(err) == store.ENOTFOUND {
					continue
				}
				ds := h.settled(t, id, 20*time.Second)
				if len(ds) != 1 || ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != 1 || ds[0].ClaimedUntil != nil {
					t.Errorf("event %s: %+v, want one delivery sent once and settled", id, ds)
				}
			}
		}
	})
}
