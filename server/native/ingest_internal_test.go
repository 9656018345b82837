package native

import (
	"strconv"
	"testing"
)

// The ids of ingested events remembered stay bounded however many a vendor sends: the
// oldest leave first, and the set and its ring hold maxRecentIDs after four times as many.
// (An id that has left is found by the insert's conflict: TestIngestCrashLosesNothing.)
func TestRecentIDs_Bounded(t *testing.T) {
	t.Parallel()
	var r recentIDs
	id := func(i int) string { return "evt_in_" + strconv.Itoa(i) }
	const n = 4 * maxRecentIDs
	for i := range n {
		r.add(id(i))
	}
	r.add(id(n - 1)) // again: remembered once
	if len(r.set) != maxRecentIDs || len(r.ring) != maxRecentIDs {
		t.Fatalf("after %d ids: %d in the set, %d in the ring; want %d each", n, len(r.set), len(r.ring), maxRecentIDs)
	}
	for _, i := range []int{0, n - maxRecentIDs - 1} {
		if r.has(id(i)) {
			t.Errorf("id %d is still remembered, %d ids later", i, n-i)
		}
	}
	for _, i := range []int{n - maxRecentIDs, n - 1} {
		if !r.has(id(i)) {
			t.Errorf("id %d, among the last %d, is not remembered", i, maxRecentIDs)
		}
	}
}
