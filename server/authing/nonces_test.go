package authing

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func status(err error) int {
	if e, ok := err.(*apiError); ok {
		return e.status
	}
	if err != nil {
		return -1
	}
	return 0
}

// A full replay cache refuses requests rather than forget a nonce still in its window,
// and one access key cannot fill more than its share.
func TestNonces_FullRefusesAndNeverForgets(t *testing.T) {
	t.Parallel()
	var n nonces
	now := time.Unix(1_000_000, 0)
	date := now.Add(-time.Minute)
	fill := func(key string, count int) {
		for i := 0; i < count; i++ {
			if err := n.use(key, strconv.Itoa(i), date, now); err != nil {
				t.Fatalf("%s's nonce %d: %v", key, i, err)
			}
		}
	}
	fill("A", maxNoncesPerKey)
	if s := status(n.use("A", "one more", date, now)); s != http.StatusTooManyRequests {
		t.Errorf("a key past its share: %d, want 429", s)
	}
	if s := status(n.use("A", "0", date, now)); s != http.StatusUnauthorized {
		t.Errorf("a replay of A's first nonce when A is full: %d, want 401", s)
	}
	fill("B", maxNoncesPerKey)
	fill("C", maxNoncesPerKey)
	fill("D", maxNoncesPerKey)
	err := n.use("E", "0", date, now)
	if e, ok := err.(*apiError); !ok || e.status != http.StatusTooManyRequests || e.retryAfter < 14*60 {
		t.Errorf("a fresh key when the cache is full: %+v, want 429 until the oldest leaves its window", err)
	}
	if s := status(n.use("B", "7", date, now)); s != http.StatusUnauthorized {
		t.Errorf("a replay when the cache is full: %d, want 401", s)
	}
	if len(n.seen) != maxNonces || len(n.expiry) != maxNonces {
		t.Errorf("%d nonces (%d in the heap), want %d", len(n.seen), len(n.expiry), maxNonces)
	}
	// Once the date check would refuse a replay, the nonces are forgotten.
	later := date.Add(MaxClockSkew + 2*time.Second)
	if err := n.use("E", "0", later, later); err != nil {
		t.Errorf("after the window: %v", err)
	}
	if len(n.seen) != 1 || len(n.perKey) != 1 {
		t.Errorf("after the window %d nonces of %d keys are kept, want 1 of 1", len(n.seen), len(n.perKey))
	}
	// Within the window a replay is refused however late it comes.
	if s := status(n.use("E", "0", later, later.Add(MaxClockSkew))); s != http.StatusUnauthorized {
		t.Errorf("a replay at the edge of the window: %d, want 401", s)
	}
}

// Nonces of any length cost the same.
func TestNonces_FixedSize(t *testing.T) {
	var n nonces
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	now := time.Now()
	for i := 0; i < 100; i++ {
		if err := n.use("A", strconv.Itoa(i)+strings.Repeat("n", 1<<20), now, now); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 1<<20 {
		t.Errorf("100 nonces of 1 MB hold %d bytes", grew)
	}
	runtime.KeepAlive(&n)
}
