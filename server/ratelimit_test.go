package server

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func key(s string) limiterKey { return keyOf(s) }

// A full table refuses new keys instead of forgetting a spent budget, so flooding it with
// made-up keys cannot reset the budget of the key under attack.
func TestLimiter_FullTableRefusesRatherThanForget(t *testing.T) {
	t.Parallel()
	l := NewLimiter(1, 2) // refilled after 3 s idle
	l.maxKeys = 4
	now := time.Unix(1_000_000, 0)
	for i := 0; i < 2; i++ {
		if ok, _ := l.allowAt(key("victim"), now); !ok {
			t.Fatalf("victim's failure %d refused within its budget", i)
		}
	}
	if ok, _ := l.allowAt(key("victim"), now); ok {
		t.Fatal("victim's budget not spent")
	}
	for i := 0; i < 3; i++ {
		if ok, _ := l.allowAt(key("flood"+strconv.Itoa(i)), now.Add(time.Second)); !ok {
			t.Fatalf("key %d refused with room in the table", i)
		}
	}
	ok, wait := l.allowAt(key("flood-more"), now.Add(time.Second))
	if ok || wait != 2*time.Second {
		t.Errorf("a new key into a full table of live budgets: ok %v, wait %v; want refused for 2s", ok, wait)
	}
	// The victim has earned back one token in that second, not its whole burst.
	if ok, _ := l.allowAt(key("victim"), now.Add(time.Second)); !ok {
		t.Error("the victim's refilled token refused")
	}
	if ok, _ := l.allowAt(key("victim"), now.Add(time.Second)); ok {
		t.Error("the victim's budget came back while the table was full")
	}
	if len(l.buckets) != 4 || l.ringLen() != 4 {
		t.Errorf("table holds %d buckets (%d in use order), want 4", len(l.buckets), l.ringLen())
	}
	// Once the least recently used bucket has refilled, it makes room.
	later := now.Add(time.Second + 3*time.Second)
	if ok, _ := l.allowAt(key("newcomer"), later); !ok {
		t.Error("a new key refused although the oldest bucket had refilled")
	}
	if _, kept := l.buckets[key("flood0")]; kept {
		t.Error("the refilled least recently used bucket was kept")
	}
	if _, kept := l.buckets[key("victim")]; !kept {
		t.Error("the victim's bucket, used more recently, was dropped")
	}
}

// Keys of any length cost the same: the table keeps their hashes.
func TestLimiter_KeysAreFixedSize(t *testing.T) {
	l := NewLimiter(1, 1)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 100; i++ {
		l.Allow(strconv.Itoa(i) + strings.Repeat("k", 1<<20))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 1<<20 {
		t.Errorf("100 buckets keyed by 1 MB strings hold %d bytes", grew)
	}
	runtime.KeepAlive(l)
}

// A full table costs a bounded number of bytes.
func TestLimiter_FullTableSize(t *testing.T) {
	l := NewLimiter(1, 1)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	now := time.Now()
	for i := 0; i < MaxKeys+100; i++ {
		l.allowAt(key(strconv.Itoa(i)), now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(l.buckets) != MaxKeys {
		t.Errorf("%d buckets, want at most %d", len(l.buckets), MaxKeys)
	}
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("a full table: %d bytes, %d a bucket", grew, grew/MaxKeys)
	if grew > 10<<20 {
		t.Errorf("a full table holds %d bytes", grew)
	}
	runtime.KeepAlive(l)
}

func (l *Limiter) ringLen() int {
	n := 0
	for b := l.byUse.next; b != &l.byUse; b = b.next {
		n++
	}
	return n
}
