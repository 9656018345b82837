package delivery

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// workers run claims through the attempt pipeline, Workers of them at once, from a
// channel the publisher and the scheduler fill (offer). Stopping lets the attempts in
// flight finish and hands the claims not yet tried back (the pipeline sees stopping).
type workers struct {
	n     int
	clock Clock
	run   func(ctx context.Context, cl *claim)

	mu   sync.RWMutex
	open bool // taking claims: between start and stop
	// stopping is set, and halt closed, when stop begins: claims still waiting are handed
	// back untried, and a publisher waiting for room stops waiting.
	stopping atomic.Bool
	halt     chan struct{}
	work     chan *claim
	wg       sync.WaitGroup
	cancel   context.CancelFunc
	// holding counts the claims given to the workers and not yet through the pipeline
	// (waiting in work, or running): what idle reports.
	holding atomic.Int64
}

func newWorkers(n int, clock Clock, run func(context.Context, *claim)) *workers {
	// Room for the claims of large publish groups (fan-out multiplies them): a claim that
	// finds no room is handed back, due, which costs the database a write and a claim more.
	return &workers{n: n, clock: clock, run: run, work: make(chan *claim, 64*n), halt: make(chan struct{})}
}

func (w *workers) start(ctx context.Context) error {
	ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for range w.n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for cl := range w.work {
				w.run(ctx, cl)
				w.holding.Add(-1)
			}
		}()
	}
	w.mu.Lock()
	w.open = true
	w.mu.Unlock()
	return nil
}

// stop stops taking claims and waits for the workers to finish what they hold. When ctx
// ends first, the attempts in flight are cut short (and handed back), and stop waits a
// little longer for that.
func (w *workers) stop(ctx context.Context) error {
	if w.stopping.CompareAndSwap(false, true) {
		close(w.halt)
	}
	w.mu.Lock()
	if !w.open {
		w.mu.Unlock()
		return nil
	}
	w.open = false
	close(w.work)
	w.mu.Unlock()
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	defer w.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		w.cancel()
		grace, stop := w.clock.After(5 * time.Second)
		defer stop()
		select {
		case <-done:
		case <-grace:
		}
		return ctx.Err()
	}
}

// accepting reports whether the workers take claims: the engine runs and is not stopping.
func (w *workers) accepting() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.open
}

// stopped reports whether stop has begun.
func (w *workers) stopped() bool { return w.stopping.Load() }

// room returns how many more claims the workers take without waiting.
func (w *workers) room() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.open {
		return 0
	}
	return cap(w.work) - len(w.work)
}

// offer gives a claim to the workers if they run and have room for it. The read lock
// keeps stop from closing the channel meanwhile.
func (w *workers) offer(cl *claim) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.open {
		return false
	}
	w.holding.Add(1)
	select {
	case w.work <- cl:
		return true
	default:
		w.holding.Add(-1)
		return false
	}
}

// offerWait gives a claim to the workers, waiting up to wait for room, unless they stop
// meanwhile.
func (w *workers) offerWait(cl *claim, wait time.Duration) bool {
	if w.offer(cl) {
		return true
	}
	if wait <= 0 {
		return false
	}
	timeout, stop := w.clock.After(wait)
	defer stop()
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.open {
		return false
	}
	w.holding.Add(1)
	select {
	case w.work <- cl:
		return true
	case <-w.halt:
	case <-timeout:
	}
	w.holding.Add(-1)
	return false
}

// idle reports whether the workers hold no claim: none waiting for a worker, none in the
// pipeline (a claim parked for a place of its endpoint is the endpoints').
func (w *workers) idle() bool { return w.holding.Load() == 0 }
