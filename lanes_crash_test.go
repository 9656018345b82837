package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store/storetest"
)

// laneWatch is a slow receiver of an ordered webhook that checks each lane's order as
// requests arrive: a request is for the lane's next event, or again for the last one
// (the attempt in flight when a process died, sent again: at least once); anything else
// is a reordering.
type laneWatch struct {
	*httptest.Server
	mu       sync.Mutex
	done     map[string]int
	inflight map[string]map[int]bool
	errs     []string
	total    int
}

var laneKey, laneN = regexp.MustCompile(`"lane":"([^"]*)"`), regexp.MustCompile(`"n":(\d+)`)

func newLaneWatch(t *testing.T, slow time.Duration) *laneWatch {
	lw := &laneWatch{done: map[string]int{}, inflight: map[string]map[int]bool{}}
	lw.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lm, nm := laneKey.FindSubmatch(body), laneN.FindSubmatch(body)
		if lm == nil || nm == nil {
			return
		}
		lane := string(lm[1])
		n, _ := strconv.Atoi(string(nm[1]))
		lw.mu.Lock()
		lw.total++
		if n != lw.done[lane]+1 && n != lw.done[lane] {
			lw.errs = append(lw.errs, fmt.Sprintf("lane %s: event %d sent after %d", lane, n, lw.done[lane]))
		}
		if lw.inflight[lane] == nil {
			lw.inflight[lane] = map[int]bool{}
		}
		for m := range lw.inflight[lane] {
			if m != n {
				lw.errs = append(lw.errs, fmt.Sprintf("lane %s: events %d and %d in flight at once", lane, m, n))
			}
		}
		lw.inflight[lane][n] = true
		lw.mu.Unlock()
		time.Sleep(slow)
		lw.mu.Lock()
		delete(lw.inflight[lane], n)
		lw.done[lane] = max(lw.done[lane], n)
		lw.mu.Unlock()
	}))
	t.Cleanup(lw.Close)
	return lw
}

// finished reports how many lanes have had all n events.
func (lw *laneWatch) finished(lanes []string, n int) int {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	k := 0
	for _, l := range lanes {
		if lw.done[l] >= n {
			k++
		}
	}
	return k
}

func (lw *laneWatch) received() int {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.total
}

func (lw *laneWatch) check(t *testing.T) {
	t.Helper()
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for _, e := range lw.errs {
		t.Error(e)
	}
}

const crashAuth = "Bearer crash-admin-token-for-tests-0123456789"

// orderedLanes subscribes rcv as an ordered webhook through p and publishes n events in
// each lane, lane by lane in turn, through ps in turn.
func orderedLanes(t *testing.T, ps []*process, url string, lanes []string, n int) {
	t.Helper()
	ps[0].call(t, "POST", "/v1/webhooks", crashAuth, `{"url":"`+url+`","events":["user.created"],"ordered":true}`)
	for i := 1; i <= n; i++ {
		for li, lane := range lanes {
			p := ps[(i+li)%len(ps)]
			p.call(t, "POST", "/v1/events", crashAuth, fmt.Sprintf(`{"type":"user.created","orderingKey":%q,"data":{"lane":%q,"n":%d}}`, lane, lane, i))
		}
	}
}

func awaitLanes(t *testing.T, lw *laneWatch, lanes []string, n int, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for lw.finished(lanes, n) < len(lanes) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lanes finished:\n%s", lw.finished(lanes, n), len(lanes), logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SIGKILL in the middle of ordered lanes on SQLite: after the restart every lane goes on
// in order; the only repeat is the attempt in flight at the kill.
func TestCrashKeepsLaneOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway as a process")
	}
	dsn := storetest.Backends()[0].DSN(t)
	lanes := []string{"a", "b", "c", ""}
	const n = 10
	lw := newLaneWatch(t, 120*time.Millisecond)
	p := startProcess(t, dsn)
	orderedLanes(t, []*process{p}, lw.URL, lanes, n)
	for start := time.Now(); lw.received() < 6; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("nothing delivered before the kill:\n%s", p.logs.String())
		}
	}
	p.kill()
	if lw.finished(lanes, n) == len(lanes) {
		t.Fatal("every lane finished before the kill; the test proves nothing")
	}
	p2 := startProcess(t, dsn)
	awaitLanes(t, lw, lanes, n, p2.logs.String)
	lw.check(t)
	t.Logf("%d requests for %d deliveries", lw.received(), n*len(lanes))
}

// One of two replicas on PostgreSQL killed while it holds lanes: the survivor takes them
// over, in order; the only repeat is an attempt that was in flight.
func TestTwoReplicasKilledMidLane(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway as processes")
	}
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("needs TEST_DATABASE_URL (PostgreSQL)")
	}
	dsn := storetest.PostgresDSN(t)
	lanes := []string{"a", "b", "c", "d", ""}
	const n = 10
	lw := newLaneWatch(t, 150*time.Millisecond)
	a := startProcess(t, dsn, "--rescue-after", "10m")
	b := startProcess(t, dsn, "--rescue-after", "10m")
	orderedLanes(t, []*process{a, b}, lw.URL, lanes, n)
	for start := time.Now(); lw.received() < 8; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("nothing delivered before the kill:\n%s\n%s", a.logs.String(), b.logs.String())
		}
	}
	a.kill()
	if lw.finished(lanes, n) == len(lanes) {
		t.Fatal("every lane finished before the kill; the test proves nothing")
	}
	awaitLanes(t, lw, lanes, n, b.logs.String)
	lw.check(t)
	t.Logf("%d requests for %d deliveries", lw.received(), n*len(lanes))
}
