package delivery

import (
	"context"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store/storetest"
)

func TestBreaker_OpensProbesAndCloses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFrozenClock()
	b := newBreakers(clock, storetest.Open(t), nil)
	const id = "w1"
	wait := func(d string) time.Duration { return b.wait(ctx, id, d, true) }
	for i := 1; i < breakerTrips; i++ {
		b.record(ctx, id, "d", false)
		if w := wait("d"); w != 0 {
			t.Fatalf("after %d failures: wait %s, want none", i, w)
		}
	}
	if got := b.record(ctx, id, "d", false); got != nowOpen {
		t.Fatalf("the %dth failure: %v, want opened", breakerTrips, got)
	}
	if w := wait("d"); w != breakerPause {
		t.Fatalf("after %d failures: wait %s, want the first pause %s", breakerTrips, w, breakerPause)
	}
	if got := b.blocked(); len(got) != 1 || got[0] != id {
		t.Errorf("blocked %v, want [%s]", got, id)
	}
	b.record(ctx, id, "x", false) // an attempt made before it opened changes nothing
	clock.Advance(breakerPause)
	if w := wait("d"); w != 0 {
		t.Fatalf("after the pause: wait %s, want the probe", w)
	}
	if w := wait("d"); w != 0 {
		t.Fatal("the probe's own delivery must wait for itself")
	}
	if w := wait("e"); w == 0 {
		t.Fatal("another delivery while the probe is out may go, want it to wait")
	}
	if got := b.record(ctx, id, "d", false); got != reopened { // the probe failed
		t.Fatalf("a failed probe: %v, want reopened", got)
	}
	if w := wait("d"); w != 2*breakerPause {
		t.Fatalf("after a failed probe: wait %s, want twice the pause", w)
	}
	for range 10 {
		clock.Advance(breakerMaxPause)
		wait("d")
		b.record(ctx, id, "d", false)
	}
	if w := wait("d"); w != breakerMaxPause {
		t.Errorf("pause %s, want at most %s", w, breakerMaxPause)
	}
	clock.Advance(breakerMaxPause)
	if w := wait("d"); w != 0 {
		t.Fatal("no probe after the pause")
	}
	clock.Advance(probeLimit)
	if w := wait("e"); w != 0 {
		t.Fatal("a probe that never answered keeps the endpoint open")
	}
	if got := b.record(ctx, id, "e", true); got != nowClosed {
		t.Errorf("a successful probe: %v, want closed", got)
	}
	if w := wait("d"); w != 0 || len(b.blocked()) != 0 {
		t.Errorf("after a successful probe: wait %s, blocked %v; want closed", w, b.blocked())
	}
}

// Two processes on one database: a breaker one opens pauses the other once it reads the
// breakers again, only one of them is given the probe, and the probe's success closes it
// for both.
func TestBreaker_SharedByProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFrozenClock()
	db := storetest.Open(t)
	a, b := newBreakers(clock, db, nil), newBreakers(clock, db, nil)
	const id = "w1"
	for range breakerTrips {
		a.record(ctx, id, "a", false)
	}
	if w := b.wait(ctx, id, "b", true); w != 0 {
		t.Fatalf("before reading the breakers again: wait %s", w)
	}
	if err := b.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if w := b.wait(ctx, id, "b", true); w != breakerPause || !b.paused(id) {
		t.Fatalf("the other process: wait %s, want the pause %s", w, breakerPause)
	}
	// The other's failures while it is open open nothing more.
	for range breakerTrips {
		if got := b.record(ctx, id, "b", false); got == nowOpen {
			t.Fatal("opened twice")
		}
	}
	clock.Advance(breakerPause)
	wa, wb := a.wait(ctx, id, "pa", true), b.wait(ctx, id, "pb", true)
	if (wa == 0) == (wb == 0) {
		t.Fatalf("after the pause: waits %s and %s, want one probe", wa, wb)
	}
	prober, other, d := a, b, "pa"
	if wb == 0 {
		prober, other, d = b, a, "pb"
	}
	if got := other.blocked(); len(got) != 1 {
		t.Errorf("while the probe is out the other blocks %v", got)
	}
	if got := prober.record(ctx, id, d, true); got != nowClosed {
		t.Fatalf("the probe's success: %v", got)
	}
	if err := other.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if other.paused(id) || other.wait(ctx, id, "x", true) != 0 {
		t.Error("closed by the prober, still open for the other")
	}
	if open, err := db.OpenBreakers(ctx); err != nil || len(open) != 0 {
		t.Errorf("breakers left: %+v %v", open, err)
	}
}
