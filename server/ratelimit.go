package server

import (
	"crypto/sha256"
	"io"
	"sync"
	"time"
)

// Limiter bounds the request rate of each key: a token bucket per key. A nil *Limiter
// allows everything.
//
// Keys often come from requests (a client id, an address), so the table is bounded in
// entries and bytes whatever callers send: a key is kept as a 128-bit prefix of its
// SHA-256, and at most MaxKeys buckets are held. A bucket is dropped only once it has been idle long enough to
// have refilled, when it would start full anyway; a table full of buckets that have not
// refilled refuses new keys until one has, rather than forget a spent budget to make
// room. Whoever fills the table this way is throttled, not let through.
type Limiter struct {
	perSecond float64
	burst     float64
	refilled  time.Duration // idle time after which a bucket is full again
	maxKeys   int

	mu      sync.Mutex
	buckets map[limiterKey]*bucket
	byUse   bucket // sentinel of a ring of buckets, least recently used first after it
}

type limiterKey [16]byte

type bucket struct {
	key        limiterKey
	tokens     float64
	last       time.Time
	prev, next *bucket
}

// MaxKeys is how many buckets a Limiter holds at most: about 120 bytes each, under 8 MB
// in all.
const MaxKeys = 1 << 16

func keyOf(s string) limiterKey {
	h := sha256.New()
	_, _ = io.WriteString(h, s) // no copy of a key that may be a megabyte
	return limiterKey(h.Sum(nil)[:16])
}

// NewLimiter allows perSecond requests a second per key, in bursts of up to burst. A
// perSecond of zero or less disables limiting (returns nil).
func NewLimiter(perSecond float64, burst int) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	l := &Limiter{
		perSecond: perSecond,
		burst:     float64(burst),
		refilled:  time.Duration(float64(burst)/perSecond*float64(time.Second)) + time.Second,
		maxKeys:   MaxKeys,
		buckets:   map[limiterKey]*bucket{},
	}
	l.byUse.prev, l.byUse.next = &l.byUse, &l.byUse
	return l
}

// Allow reports whether key may make a request now, and if not, how long until it may.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	return l.allowAt(keyOf(key), time.Now())
}

func (l *Limiter) allowAt(key limiterKey, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if ok {
		b.unlink()
	} else {
		if len(l.buckets) >= l.maxKeys {
			if wait := l.evict(now); wait > 0 {
				return false, wait
			}
		}
		b = &bucket{key: key, tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	// The most recently used goes last.
	b.prev, b.next = l.byUse.prev, &l.byUse
	b.prev.next, l.byUse.prev = b, b
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.perSecond)
	}
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / l.perSecond * float64(time.Second))
	}
	b.tokens--
	return true, 0
}

// evict drops the least recently used bucket if it has refilled, and otherwise returns
// how long until it will have: every other bucket was used more recently.
func (l *Limiter) evict(now time.Time) time.Duration {
	oldest := l.byUse.next
	if idle := now.Sub(oldest.last); idle < l.refilled {
		return l.refilled - idle
	}
	oldest.unlink()
	delete(l.buckets, oldest.key)
	return 0
}

func (b *bucket) unlink() {
	b.prev.next, b.next.prev = b.next, b.prev
	b.prev, b.next = nil, nil
}
