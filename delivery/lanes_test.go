package delivery_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// laneReceiver is a real endpoint of an ordered webhook that checks, as requests arrive,
// what ordering promises: a lane never has two attempts in flight, and a request for the
// n-th event of a lane comes only once every earlier one has succeeded or been given up.
// Events carry their lane and place in their data ({"lane": k, "n": i}).
type laneReceiver struct {
	*receiver
	mu       sync.Mutex
	inflight map[string]int
	done     map[string]int // lane -> the highest n finished, every earlier one finished too
	given    map[string]int // lane -> n of the one delivery that always fails
	tries    map[string]int // "lane/n" -> requests
	failed   map[string]int // lane -> failed requests
	finals   int            // attempts after which a delivery is given up
	fail     func() bool    // whether a request that may succeed fails, with Retry-After: 1
	errs     []string
	firsts   []string // "lane/n" in order of first success
}

var laneRe, nRe = regexp.MustCompile(`"lane":"([^"]*)"`), regexp.MustCompile(`"n":(\d+)`)

func newLaneReceiver(t *testing.T, fail func() bool, finals int, given map[string]int) *laneReceiver {
	lr := &laneReceiver{inflight: map[string]int{}, done: map[string]int{}, tries: map[string]int{}, failed: map[string]int{},
		given: given, finals: finals, fail: fail}
	lr.receiver = newReceiver(t, nil)
	lr.respond = func(k int, w http.ResponseWriter) {
		body := lr.requests()[k-1].body
		lm, nm := laneRe.FindSubmatch(body), nRe.FindSubmatch(body)
		if lm == nil || nm == nil {
			lr.errorf("a request without its lane: %s", body)
			return
		}
		lane := string(lm[1])
		n, _ := strconv.Atoi(string(nm[1]))
		key := fmt.Sprintf("%s/%d", lane, n)
		lr.mu.Lock()
		lr.inflight[lane]++
		if lr.inflight[lane] > 1 {
			lr.errs = append(lr.errs, "two attempts in flight in lane "+lane)
		}
		if n != lr.done[lane]+1 {
			lr.errs = append(lr.errs, fmt.Sprintf("%s attempted while lane %s has finished up to %d", key, lane, lr.done[lane]))
		}
		lr.tries[key]++
		tries := lr.tries[key]
		lr.mu.Unlock()
		time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond)
		lr.mu.Lock()
		defer lr.mu.Unlock()
		lr.inflight[lane]--
		switch {
		case given[lane] == n || fail != nil && fail():
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
			lr.failed[lane]++
			if tries >= finals { // given up: the lane moves on
				lr.done[lane] = n
			}
		default:
			lr.done[lane] = n
			lr.firsts = append(lr.firsts, key)
		}
	}
	return lr
}

func (lr *laneReceiver) errorf(format string, args ...any) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.errs = append(lr.errs, fmt.Sprintf(format, args...))
}

// check fails t with what the receiver saw wrong, and checks every lane finished all of
// its n events.
func (lr *laneReceiver) check(t *testing.T, lanes []string, n int) {
	t.Helper()
	lr.mu.Lock()
	defer lr.mu.Unlock()
	for _, e := range lr.errs {
		t.Error(e)
	}
	for _, l := range lanes {
		if lr.done[l] != n {
			t.Errorf("lane %q finished up to %d of %d", l, lr.done[l], n)
		}
	}
}

// publishLanes publishes n events in each lane, each lane's in order from a goroutine of
// its own (so that groups mix lanes), through the harnesses in turn, and returns the
// events.
func publishLanes(t *testing.T, hs []*harness, lanes []string, n int) []*store.Event {
	t.Helper()
	var mu sync.Mutex
	var evs []*store.Event
	var wg sync.WaitGroup
	for li, lane := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= n; i++ {
				h := hs[(li+i)%len(hs)]
				ev, _, err := h.engine.Publish(context.Background(), delivery.PublishInput{Type: "user.created", OrderingKey: lane,
					Data: fmt.Appendf(nil, `{"lane":%q,"n":%d}`, lane, i)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				evs = append(evs, ev)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return evs
}

// Lanes under random failures with Retry-After: each lane goes in publish order, one
// attempt at a time, a delivery given up lets its lane move on, and a lane waiting for a
// retry does not hold up the others.
func TestLanes_OrderUnderFailures(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rnd := rand.New(rand.NewPCG(23, 1))
		var rmu sync.Mutex
		fail := func() bool { rmu.Lock(); defer rmu.Unlock(); return rnd.IntN(4) == 0 }
		lanes := []string{"", "a", "b", "c", "d", "e"}
		lr := newLaneReceiver(t, fail, 2, map[string]int{"c": 2})
		clock := &delivery.TestClock{}
		h := start(t, db, delivery.Config{MaxAttempts: 2, Clock: clock})
		h.webhook(t, lr.URL, func(w *store.Webhook) { w.Ordered = true })
		const n = 6
		begin := clock.Now()
		// Each second of the engine's clock brings the retries due after a Retry-After.
		h.drain(t, publishLanes(t, []*harness{h}, lanes, n))
		lr.check(t, lanes, n)
		// With MaxAttempts 2 a delivery whose attempts both fail is given up (the receiver
		// counts it finished); a lane's retries, a second each, run beside the other
		// lanes', not after them.
		took, most, all := clock.Now().Sub(begin), 0, 0
		for _, f := range lr.failed {
			most, all = max(most, f), all+f
		}
		if took > time.Duration(2*most+2)*time.Second {
			t.Errorf("took %v by the engine's clock for %d failed requests, at most %d in one lane: lanes did not run in parallel", took, all, most)
		}
		t.Logf("%d requests, %d failed, %v by the engine's clock; first successes %v", len(lr.requests()), all, took, lr.firsts)
	})
}

// Resuming a paused ordered webhook sends what waited in lane order, one attempt at a
// time per lane.
func TestLanes_ResumeSendsInLaneOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		lanes := []string{"x", "y", "z"}
		lr := newLaneReceiver(t, nil, 12, nil)
		clock := &delivery.TestClock{}
		h := start(t, db, delivery.Config{Clock: clock})
		w := h.webhook(t, lr.URL, func(w *store.Webhook) { w.Ordered = true })
		if err := h.engine.Pause(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		const n = 5
		evs := publishLanes(t, []*harness{h}, lanes, n)
		h.quiet(t)
		for _, ev := range evs {
			h.held(t, ev.ID, 5*time.Second)
		}
		if got := len(lr.requests()); got != 0 {
			t.Fatalf("%d requests while paused", got)
		}
		if err := h.engine.Resume(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		h.drain(t, evs)
		for _, ev := range evs {
			if ds := h.settled(t, ev.ID, 5*time.Second); ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != 1 {
				t.Errorf("after resume: %+v", ds[0])
			}
		}
		lr.check(t, lanes, n)
	})
}
