package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/store"
)

// The recorder. Whatever becomes of a claim (an attempt made, the delivery cancelled or
// held, or the claim handed back untried, due again) is one settlement, and every
// settlement is written by settleBatch: the attempts, the deliveries' new states with
// their claims ended and the time of their next attempt when one is due, and the
// endpoints' health, a batch of them per transaction.

// settlement is what became of a claim, waiting to be recorded.
type settlement struct {
	c *claim
	// a is the attempt made, nil when none was: the claim is handed back untried
	// (its endpoint was busy, or the process is stopping), or its delivery was cancelled
	// or held (c.d says which).
	a       *store.Attempt
	res     Result
	ok      bool
	disable string
}

// settleBatch is how many settlements one transaction records at most.
const settleBatch = 256

// recorder writes settlements as they come, as many per transaction as are waiting.
type recorder struct {
	in    chan *settlement
	write func(batch []*settlement)
	done  sync.WaitGroup

	// Others take batches too (take); close waits for what they took to be written.
	mu     sync.Mutex
	closed bool
	taken  sync.WaitGroup
}

func newRecorder(write func([]*settlement)) *recorder {
	r := &recorder{in: make(chan *settlement, settleBatch), write: write}
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		for s := range r.in {
			batch := []*settlement{s}
		more:
			for len(batch) < settleBatch {
				select {
				case s, ok := <-r.in:
					if !ok {
						break more
					}
					batch = append(batch, s)
				default:
					break more
				}
			}
			r.write(batch)
		}
	}()
	return r
}

func (r *recorder) put(s *settlement) { r.in <- s }

// take returns the settlements waiting, up to a batch, for the caller to write; it must
// call done once they are written (or given to settleRetrying).
func (r *recorder) take() (batch []*settlement, done func()) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, func() {}
	}
	r.taken.Add(1)
	r.mu.Unlock()
	for len(batch) < settleBatch {
		select {
		case s, ok := <-r.in:
			if !ok {
				return batch, r.taken.Done
			}
			batch = append(batch, s)
		default:
			return batch, r.taken.Done
		}
	}
	return batch, r.taken.Done
}

// close records what is left and returns once it is written.
func (r *recorder) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	close(r.in)
	r.done.Wait()
	r.taken.Wait()
}

// settleRetrying records a batch, trying again a few times when the database fails.
// Should it keep failing, the claims are rescued and sent again: their attempts are made
// twice, not lost.
func (e *Engine) settleRetrying(batch []*settlement) {
	var err error
	restore := keep(batch)
	for try, wait := 0, 50*time.Millisecond; try < 5; try, wait = try+1, wait*2 {
		if try > 0 {
			restore()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = e.settleBatch(ctx, batch)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(wait)
	}
	e.log.Error("recording delivery attempts; the sweep will send them again", "deliveries", len(batch), "err", err)
}

// keep returns what puts batch's claims back as they are now. Recording ends each claim
// in memory too; a try that failed did not end it in the database, so the next one must
// start from the claims as they were.
func keep(batch []*settlement) (restore func()) {
	claims := make([]store.Delivery, len(batch))
	for i, s := range batch {
		claims[i] = s.c.d
	}
	return func() {
		for i, s := range batch {
			s.c.d = claims[i]
		}
	}
}

// settleBatch records settlements in one transaction: the one write path of an
// attempt's outcome, unless a publish's transaction takes them along (see commit).
func (e *Engine) settleBatch(ctx context.Context, batch []*settlement) error {
	err := e.db.InTx(ctx, func(tx driver.Executor) error {
		return e.settleIn(ctx, tx, batch)
	})
	if err != nil {
		return err
	}
	e.settled(batch)
	return nil
}

// settleIn writes settlements in the caller's transaction.
func (e *Engine) settleIn(ctx context.Context, tx driver.Executor, batch []*settlement) error {
	ds := make([]*store.Delivery, len(batch))
	as := make([]*store.Attempt, len(batch))
	for i, s := range batch {
		ds[i], as[i] = &s.c.d, s.a
	}
	// A delivery due again (a retry, or a claim handed back untried) is left to the poll
	// for due deliveries (due.go).
	if _, err := tx.Settle(ctx, ds, as); err != nil {
		return err
	}
	healthy := map[string]bool{}
	for _, s := range batch {
		switch {
		case s.a == nil:
		case s.ok:
			healthy[s.c.w.ID] = true
		default:
			if err := e.health(ctx, tx, s.c.w, false, s.a.StartedAt, s.c.d.LastError); err != nil {
				return err
			}
		}
		if s.disable != "" {
			if err := tx.DisableWebhook(ctx, s.c.w.ID, s.disable); err != nil {
				return err
			}
			e.log.Warn("webhook disabled by the gateway", "webhook", s.c.w.ID, "dialect", s.c.w.Dialect, "why", s.disable)
		}
	}
	ids := make([]string, 0, len(healthy))
	for id := range healthy {
		ids = append(ids, id)
	}
	return tx.MarkHealthy(ctx, ids)
}

// settled counts recorded settlements in the metrics.
func (e *Engine) settled(batch []*settlement) {
	for _, s := range batch {
		if s.a != nil {
			e.observe(&s.c.d, s.c.w, s.a, s.res, s.ok)
		} else if s.c.d.Status != store.DeliveryPending {
			deliveriesTotal.WithLabelValues(s.c.d.Dialect, s.c.d.Status).Inc()
		}
	}
}
