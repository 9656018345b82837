package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// The ceiling's forwarder must hand the receiver each event as published, with an id of
// its own per event, and answer only once the receiver has: otherwise the receiver's
// deduplication would count it wrong, or the ceiling would not include the delivery.
func TestForwarderSendsEachEventOnceWithItsOwnID(t *testing.T) {
	var mu sync.Mutex
	var bodies, ids []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies, ids = append(bodies, string(b)), append(ids, r.Header.Get("webhook-id"))
		mu.Unlock()
	}))
	defer recv.Close()
	fwd := httptest.NewServer(forwarder(recv.URL + "/ok/ceiling"))
	defer fwd.Close()

	for _, body := range []string{`{"type":"a","data":{"i":1}}`, `{"type":"a","data":{"i":2}}`} {
		resp, err := http.Post(fwd.URL+"/v1/events", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d", resp.StatusCode)
		}
		mu.Lock()
		last := bodies[len(bodies)-1]
		mu.Unlock()
		if last != body {
			t.Fatalf("receiver got %q before the answer, want %q", last, body)
		}
	}
	if len(ids) != 2 || ids[0] == "" || ids[0] == ids[1] {
		t.Fatalf("webhook-ids %q: want two distinct", ids)
	}
}

// Each figure is the median of its runs, a value that was measured, with the spread.
func TestSummaryIsMedianAndSpread(t *testing.T) {
	b := &bench{figures: map[string]*figure{}}
	b.section = "s"
	for _, v := range []float64{30, 10, 20} {
		b.add("x", v, "/s", "≥ 15", v >= 15)
	}
	b.add("y", 5, "", "", true)
	b.add("y", 7, "", "", true)
	got := b.summary()
	if len(got) != 2 {
		t.Fatalf("%d rows", len(got))
	}
	if r := got[0]; r.Median != 20 || r.Min != 10 || r.Max != 30 || len(r.Met) != 3 || r.Met[1] {
		t.Fatalf("x: %+v", r)
	}
	if r := got[1]; r.Median != 5 || r.Min != 5 || r.Max != 7 {
		t.Fatalf("y: median %v, spread %v–%v", r.Median, r.Min, r.Max)
	}
}

func TestProcCPUReadsThisProcess(t *testing.T) {
	for i := 0; i < 1e7; i++ { // some CPU to measure
		_ = strings.Repeat("x", i%3)
	}
	if procCPU("self") <= 0 || machineCPU() <= 0 {
		t.Fatalf("procCPU %v, machineCPU %v: want both > 0", procCPU("self"), machineCPU())
	}
}
