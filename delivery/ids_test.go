package delivery_test

import (
	"strings"
	"testing"

	"github.com/polyhook/polyhook/delivery"
)

// Ids are short, URL-safe, distinct, and sort in the order they were made: the store's
// indexes on them grow at one end, and pages ordered by id follow creation.
func TestNewID(t *testing.T) {
	t.Parallel()
	const n = 100000
	prev := ""
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		id := delivery.NewID("msg_")
		rest, ok := strings.CutPrefix(id, "msg_")
		if !ok || len(rest) != 21 || strings.Trim(rest, "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("id %q: want msg_ and 21 URL-safe characters", id)
		}
		if id <= prev {
			t.Fatalf("id %q made after %q sorts before it", id, prev)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id] = true
		prev = id
	}
}
