package delivery

import (
	"sync"
	"sync/atomic"
	"time"
)

// TestClock is the wall clock moved ahead by whatever a test adds: a test makes time pass
// at once instead of sleeping (Config.Clock). Its ticks and timers run on real time too,
// and Advance fires every tick at once and every timer whose time it passed, as if the
// time had gone by: the engine's loops look at once.
type TestClock struct {
	ahead atomic.Int64
	kicks waiters
}

func (c *TestClock) Now() time.Time { return time.Now().Add(time.Duration(c.ahead.Load())) }

// Advance moves the clock ahead by d.
func (c *TestClock) Advance(d time.Duration) {
	c.ahead.Add(int64(d))
	c.kicks.kick()
}

func (c *TestClock) Tick(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	out, stop := c.kicks.forward(t.C, func() bool { return true }, c.Now)
	return out, func() { t.Stop(); stop() }
}

func (c *TestClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	at := c.Now().Add(d)
	out, stop := c.kicks.forward(t.C, func() bool { return !c.Now().Before(at) }, c.Now)
	return out, func() { t.Stop(); stop() }
}

// frozenClock stands still until a test moves it; its ticks and timers fire only then.
type frozenClock struct {
	mu    sync.Mutex
	at    time.Time
	kicks waiters
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
	c.at = c.at.Add(d)
	c.mu.Unlock()
	c.kicks.kick()
}

func (c *frozenClock) Tick(time.Duration) (<-chan time.Time, func()) {
	return c.kicks.forward(nil, func() bool { return true }, c.Now)
}

func (c *frozenClock) After(d time.Duration) (<-chan time.Time, func()) {
	at := c.Now().Add(d)
	return c.kicks.forward(nil, func() bool { return !c.Now().Before(at) }, c.Now)
}

// waiters are the ticks and timers of a test clock, kicked when it moves.
type waiters struct {
	mu  sync.Mutex
	chs map[chan struct{}]bool
}

func (w *waiters) kick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.chs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// forward returns a channel that receives what real receives, and, whenever the clock is
// moved, its time if due says so; stop ends it.
func (w *waiters) forward(real <-chan time.Time, due func() bool, now func() time.Time) (<-chan time.Time, func()) {
	out := make(chan time.Time, 1)
	kick := make(chan struct{}, 1)
	done := make(chan struct{})
	w.mu.Lock()
	if w.chs == nil {
		w.chs = map[chan struct{}]bool{}
	}
	w.chs[kick] = true
	w.mu.Unlock()
	go func() {
		for {
			select {
			case <-done:
				return
			case t := <-real:
				send(out, t)
			case <-kick:
				if due() {
					send(out, now())
				}
			}
		}
	}()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			w.mu.Lock()
			delete(w.chs, kick)
			w.mu.Unlock()
			close(done)
		})
	}
}

func send(ch chan time.Time, t time.Time) {
	select {
	case ch <- t:
	default:
	}
}
