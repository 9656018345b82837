package delivery

import (
	"testing"
)

func TestBreaker_OpensProbesAndCloses(t *testing.T) {
	t.Parallel()
	clock := newFrozenClock()
	b := newBreakers(clock)
	const id = "w1"
	for i := 1; i < breakerTrips; i++ {
		b.record(id, false)
		if w := b.wait(id, "d"); w != 0 {
			t.Fatalf("after %d failures: wait %s, want none", i, w)
		}
	}
	b.record(id, false)
	if w := b.wait(id, "d"); w != breakerPause {
		t.Fatalf("after %d failures: wait %s, want the first pause %s", breakerTrips, w, breakerPause)
	}
	if got := b.open(); len(got) != 1 || got[0] != id {
		t.Errorf("open %v, want [%s]", got, id)
	}
	b.record(id, false) // an attempt made before it opened changes nothing
	clock.Advance(breakerPause)
	if w := b.wait(id, "d"); w != 0 {
		t.Fatalf("after the pause: wait %s, want the probe", w)
	}
	if w := b.wait(id, "d"); w != 0 {
		t.Fatal("the probe's own delivery must wait for itself")
	}
	if w := b.wait(id, "e"); w == 0 {
		t.Fatal("another delivery while the probe is out may go, want it to wait")
	}
	b.record(id, false) // the probe failed
	if w := b.wait(id, "d"); w != 2*breakerPause {
		t.Fatalf("after a failed probe: wait %s, want twice the pause", w)
	}
	for range 10 {
		clock.Advance(breakerMaxPause)
		b.wait(id, "d")
		b.record(id, false)
	}
	if w := b.wait(id, "d"); w != breakerMaxPause {
		t.Errorf("pause %s, want at most %s", w, breakerMaxPause)
	}
	clock.Advance(breakerMaxPause)
	if w := b.wait(id, "d"); w != 0 {
		t.Fatal("no probe after the pause")
	}
	clock.Advance(probeLimit)
	if w := b.wait(id, "e"); w != 0 {
		t.Fatal("a probe that never answered keeps the endpoint open")
	}
	b.record(id, true)
	if w := b.wait(id, "d"); w != 0 || len(b.open()) != 0 {
		t.Errorf("after a successful probe: wait %s, open %v; want closed", w, b.open())
	}
}
