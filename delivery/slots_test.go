package delivery

import (
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
)

func slotClaim(webhookID, id string) *claim {
	return &claim{d: store.Delivery{ID: id, WebhookID: webhookID}, ev: &store.Event{Data: []byte(`{}`)}}
}

// An endpoint's places go to attempts until they are all taken; then claims park, and
// each released place passes to the first parked claim, fresh.
func TestSlots_TakeParkAndPassOn(t *testing.T) {
	t.Parallel()
	clock := newFrozenClock()
	p := newEndpoints(2, 1<<20, clock)
	a, b, c, d := slotClaim("w", "a"), slotClaim("w", "b"), slotClaim("w", "c"), slotClaim("w", "d")
	sa, _, parked := p.take(a)
	if parked || !sa.held() {
		t.Fatal("first claim did not get a place")
	}
	if _, _, parked := p.take(b); parked {
		t.Fatal("second claim did not get a place")
	}
	for _, cl := range []*claim{c, d} {
		if _, wait, parked := p.take(cl); !parked || wait != 0 {
			t.Fatalf("claim %s: parked %v, wait %s", cl.d.ID, parked, wait)
		}
	}
	if n, bytes := p.load(); n != 2 || bytes != 2*parkCost(c) {
		t.Errorf("load %d, %d", n, bytes)
	}
	// Another webhook is not held up.
	if _, _, parked := p.take(slotClaim("other", "x")); parked {
		t.Error("another webhook's claim was parked")
	}
	clock.Advance(time.Minute)
	next := p.release("w", sa)
	if next != c || !next.slot.held() || next.parked || !next.slot.since.Equal(clock.Now()) {
		t.Fatalf("released place went to %+v", next)
	}
	if w := p.stuck("w"); w != 30*time.Second {
		t.Errorf("b's place is a minute old: wait %s, want 30 s", w)
	}
	if n, _ := p.load(); n != 1 {
		t.Errorf("%d parked after a pass-on, want 1", n)
	}
	if got := p.unpark(); len(got) != 1 || got[0] != d {
		t.Errorf("unpark: %v", got)
	}
}

// A full endpoint whose oldest attempt in flight is young is busy answering; once that
// attempt is older than slotPatience the endpoint is stuck, and its queued deliveries
// wait twice that age (1 to 30 s). Restamping a place restarts its age.
func TestSlots_StuckByTheClock(t *testing.T) {
	t.Parallel()
	clock := newFrozenClock()
	p := newEndpoints(1, 1<<20, clock)
	s, _, _ := p.take(slotClaim("w", "a"))
	if w := p.stuck("w"); w != 0 {
		t.Fatalf("stuck at once: %s", w)
	}
	clock.Advance(5 * time.Second)
	if w := p.stuck("w"); w != 10*time.Second {
		t.Errorf("stuck for 5 s: wait %s, want 10 s", w)
	}
	clock.Advance(time.Hour)
	if w := p.stuck("w"); w != 30*time.Second {
		t.Errorf("stuck for an hour: wait %s, want the 30 s cap", w)
	}
	s = p.restamp("w", s)
	if w := p.stuck("w"); w != 0 {
		t.Errorf("stuck after a restamp: %s", w)
	}
	clock.Advance(time.Second)
	if _, ok := p.admit("w"); !ok {
		t.Error("a stuck endpoint's delivery refused while parking has room")
	}
	p.release("w", s)
	if w := p.stuck("w"); w != 0 {
		t.Errorf("stuck with nothing in flight: %s", w)
	}
}

// Parking is bounded by memory: beyond it, a claim is told to wait in the queue, and a
// stuck endpoint's new deliveries are not claimed.
func TestSlots_ParkingBudget(t *testing.T) {
	t.Parallel()
	clock := newFrozenClock()
	cost := parkCost(slotClaim("w", "x"))
	p := newEndpoints(1, cost, clock)
	p.take(slotClaim("w", "a"))
	if _, _, parked := p.take(slotClaim("w", "b")); !parked {
		t.Fatal("no room to park one claim")
	}
	clock.Advance(2 * time.Second) // stuck
	_, wait, parked := p.take(slotClaim("w", "c"))
	if parked || wait != 4*time.Second {
		t.Errorf("over budget: parked %v, wait %s (want 4 s: twice the stuck attempt's age)", parked, wait)
	}
	if wait, ok := p.admit("w"); ok || wait != 4*time.Second {
		t.Errorf("admit over budget: %v %s", ok, wait)
	}
}

// Renewing parked claims extends those renewed and drops those the sweep took.
func TestSlots_Renewed(t *testing.T) {
	t.Parallel()
	clock := newFrozenClock()
	p := newEndpoints(1, 1<<20, clock)
	p.take(slotClaim("w", "a"))
	kept, lost := slotClaim("w", "kept"), slotClaim("w", "lost")
	p.take(kept)
	p.take(lost)
	due := p.due(clock.Now().Add(time.Minute))
	if len(due) != 2 {
		t.Fatalf("due: %v", due)
	}
	until := clock.Now().Add(2 * time.Minute)
	p.renewed(due, map[string]bool{"kept": true}, until)
	if !kept.until.Equal(until) || !kept.parked {
		t.Errorf("kept: %+v", kept)
	}
	if lost.parked {
		t.Error("a claim the sweep took is still parked")
	}
	if n, _ := p.load(); n != 1 {
		t.Errorf("%d parked, want 1", n)
	}
}
