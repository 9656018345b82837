package delivery_test

import (
	"context"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// maxPerSecond is the most requests that arrived within any one second.
func maxPerSecond(rs []received) int {
	at := make([]time.Time, len(rs))
	for i, r := range rs {
		at[i] = r.at
	}
	return mostInASecond(at)
}

// mostInASecond is the most of the times at that fall within any one second.
func mostInASecond(at []time.Time) int {
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	most := 0
	for i, j := 0, 0; i < len(at); i++ {
		for j < len(at) && at[j].Sub(at[i]) < time.Second {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// rateLimited publishes n events to one webhook limited to limit attempts per second,
// through the engines in turn, and checks what arrived at its receiver: every delivery,
// in one attempt each (a wait spends none), never more than the limit (give or take 10 %)
// in any one second, both as the attempts began and as the receiver saw them arrive, and
// near it overall.
func rateLimited(t *testing.T, hs []*harness, limit, n int, fail func(int) bool) {
	t.Helper()
	rcv := newReceiver(t, func(k int, w http.ResponseWriter) {
		if fail != nil && fail(k) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
		}
	})
	hs[0].webhook(t, rcv.URL, func(w *store.Webhook) { w.RateLimit = limit })
	var ids, deliveryIDs []string
	start := time.Now()
	for i := range n {
		ids = append(ids, hs[i%len(hs)].publish(t, delivery.PublishInput{Type: "user.created"}).ID)
	}
	for _, id := range ids {
		ds := hs[0].settled(t, id, 60*time.Second)
		if ds[0].Status != store.DeliverySucceeded || (fail == nil && ds[0].Attempts != 1) {
			t.Errorf("delivery: %+v", ds[0])
		}
		deliveryIDs = append(deliveryIDs, ds[0].ID)
	}
	took := time.Since(start)
	attempts, err := hs[0].db.AttemptsOf(context.Background(), deliveryIDs)
	if err != nil {
		t.Fatal(err)
	}
	var begun []time.Time
	for _, as := range attempts {
		for _, a := range as {
			begun = append(begun, a.StartedAt)
		}
	}
	if most := mostInASecond(begun); float64(most) > float64(limit)*1.1 {
		t.Errorf("%d attempts begun within one second, limit %d", most, limit)
	}
	rs := rcv.requests()
	if most := maxPerSecond(rs); float64(most) > float64(limit)*1.1 {
		t.Errorf("%d requests arrived within one second, limit %d", most, limit)
	}
	if rate := float64(len(rs)) / took.Seconds(); rate < float64(limit)*0.25 { // missed starts are given up under load
		t.Errorf("%d requests in %v: %.1f/s, far below the limit %d", len(rs), took, rate, limit)
	}
	t.Logf("limit %d/s: %d requests in %v, at most %d in one second", limit, len(rs), took.Round(time.Millisecond), maxPerSecond(rs))
}

func TestRateLimit_OneEngine(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rateLimited(t, []*harness{start(t, db, delivery.Config{})}, 20, 80, nil)
	})
}

// Two replicas share the limit through the database: together they stay within it.
func TestRateLimit_TwoReplicasShareIt(t *testing.T) {
	if !storetestHasPostgres() {
		t.Skip("needs TEST_DATABASE_URL: replicas share a PostgreSQL database")
	}
	t.Parallel()
	dsn := storetest.PostgresDSN(t)
	a := start(t, storetest.OpenDSN(t, dsn), delivery.Config{})
	b := start(t, storetest.OpenDSN(t, dsn), delivery.Config{})
	rateLimited(t, []*harness{a, b}, 25, 150, nil)
}

// Retries (after a Retry-After) are paced with the rest.
func TestRateLimit_RetriesArePacedToo(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rateLimited(t, []*harness{start(t, db, delivery.Config{})}, 20, 60, func(k int) bool { return k%3 == 0 })
	})
}

// The reservation is one statement: replicas racing for starts each get a distinct one,
// interval apart.
func TestRateLimit_ReserveSendIsAtomic(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		interval := 10 * time.Millisecond
		got := make(chan time.Time, 40)
		errs := make(chan error, 40)
		for range 40 {
			go func() {
				at, ok, err := db.ReserveSend(ctx, "wh", now, interval, time.Second)
				if err != nil || !ok {
					errs <- err
					return
				}
				got <- at
			}()
		}
		seen := map[time.Time]bool{}
		for range 40 {
			select {
			case err := <-errs:
				t.Fatalf("reserve: %v", err)
			case at := <-got:
				if seen[at] || at.Before(now) || at.Sub(now)%interval != 0 || at.Sub(now) >= 40*interval {
					t.Errorf("start %v (now %v) reserved twice or off the grid", at, now)
				}
				seen[at] = true
			}
		}
		// The next start is 400 ms away: beyond a 100 ms horizon it is not reserved.
		at, ok, err := db.ReserveSend(ctx, "wh", now, interval, 100*time.Millisecond)
		if err != nil || ok || !at.Equal(now.Add(300*time.Millisecond)) {
			t.Errorf("beyond the horizon: %v %v %v", at, ok, err)
		}
	})
}
