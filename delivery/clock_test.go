package delivery

import (
	"sync"
	"sync/atomic"
	"time"
)

// TestClock is the wall clock moved ahead by whatever a test adds: a test makes time pass
// at once instead of sleeping (Config.Clock).
type TestClock struct{ ahead atomic.Int64 }

func (c *TestClock) Now() time.Time { return time.Now().Add(time.Duration(c.ahead.Load())) }

// Advance moves the clock ahead by d.
func (c *TestClock) Advance(d time.Duration) { c.ahead.Add(int64(d)) }

// frozenClock stands still until a test moves it.
type frozenClock struct {
	mu sync.Mutex
	at time.Time
}

func newFrozenClock() *frozenClock {
	return &frozenClock{at: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *frozenClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *frozenClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}
