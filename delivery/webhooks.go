package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/polyhook/polyhook/store"
)

// Reading a webhook as it is now costs an attempt one small read of its state (version,
// disabling, health; store.WebhookStateByID), not of the whole webhook with its secrets
// opened: the content is taken from a copy read earlier (the publish's own, or one
// kept here) as long as the version in the database is still that copy's, whichever
// replica changed it. Every change of a webhook's content bumps its version.
//
// Attempts that ask at the same moment share one read (stateReads): a read serves every
// attempt that asked before it began, so each is served by a read as recent as its own
// would have been, and while the database is busy the reads of the attempts that wait
// for it become one.
//
// A first attempt sent at once, without waiting for a place, within freshFor of its
// publish group's read of the webhook and with no webhook written through this process
// since, is sent to that read: it is as current as a read
// of its own would be, give or take the publish's commit, and a read per attempt would
// take a turn on SQLite's one connection from every publish (it cost about a fifth of
// the sustained throughput). Every attempt that waited (parked for a place, due for a
// retry or by an operator, held) reads its webhook when its turn comes.

// freshFor is how old a publish's read of a webhook may be for its first attempts to be
// sent to it without reading it again.
const freshFor = time.Second

// knownMax bounds the webhooks kept; beyond it the copies are dropped and read again.
const knownMax = 10000

// copies keeps the latest copy of the webhooks attempts were sent to.
type copies struct {
	mu   sync.Mutex
	byID map[string]*store.Webhook
}

func (k *copies) get(id string) *store.Webhook {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.byID[id]
}

func (k *copies) put(w *store.Webhook) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.byID == nil || len(k.byID) >= knownMax {
		k.byID = map[string]*store.Webhook{}
	}
	if old := k.byID[w.ID]; old == nil || old.Version < w.Version {
		k.byID[w.ID] = w
	}
}

func (k *copies) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.byID, id)
}

// webhookNow reads a claim's webhook as it is now. Returns ENOTFOUND when it was deleted.
func (e *Engine) webhookNow(ctx context.Context, cl *claim) (*store.Webhook, error) {
	id := cl.d.WebhookID
	// No write to a webhook through this process since the claim's read: where the store
	// sees every write (SQLite), its webhook is as read, however long the claim waited (a
	// parked claim need not take a turn on the one connection to learn it: that read per
	// parked attempt halved sustained throughput); elsewhere a first attempt within
	// freshFor of the read is sent to it. A write since, this webhook's or another's,
	// means a read: a first attempt that sat in the workers' queue while its webhook was
	// disabled through this process is held, not sent to the copy read before.
	if n, local := e.db.WebhookWrites(); cl.w != nil && n == cl.writes &&
		(local || (!cl.waited && e.clock.Now().Sub(cl.read) <= freshFor)) {
		return cl.w, nil
	}
	st, err := e.states.get(ctx, id)
	if err != nil {
		if store.ErrorCode(err) == store.ENOTFOUND {
			e.copies.forget(id)
		}
		return nil, err
	}
	if st.Same(cl.w) {
		e.copies.put(cl.w)
		return st.Apply(cl.w), nil
	}
	if w := e.copies.get(id); st.Same(w) {
		return st.Apply(w), nil
	}
	w, err := e.db.WebhookByID(ctx, id)
	if err != nil {
		return nil, err
	}
	e.copies.put(w)
	return w, nil
}

// stateReads batches the reads of webhooks' states: whoever asks while no read runs
// starts one for everything asked until then, and those who ask meanwhile wait for the
// next.
type stateReads struct {
	read func(ctx context.Context, ids []string) (map[string]*store.WebhookState, error)

	mu      sync.Mutex
	waiting map[string][]chan stateResult
	running bool
}

type stateResult struct {
	st  *store.WebhookState
	err error
}

// stateBatch bounds the webhooks one read asks for.
const stateBatch = 500

func (r *stateReads) get(ctx context.Context, id string) (*store.WebhookState, error) {
	ch := make(chan stateResult, 1)
	r.mu.Lock()
	if r.waiting == nil {
		r.waiting = map[string][]chan stateResult{}
	}
	r.waiting[id] = append(r.waiting[id], ch)
	start := !r.running
	r.running = true
	r.mu.Unlock()
	if start {
		go r.run()
	}
	select {
	case res := <-ch:
		return res.st, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run reads until nobody waits.
func (r *stateReads) run() {
	for {
		r.mu.Lock()
		if len(r.waiting) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		batch := map[string][]chan stateResult{}
		for id, chs := range r.waiting {
			if len(batch) == stateBatch {
				break
			}
			batch[id] = chs
			delete(r.waiting, id)
		}
		r.mu.Unlock()
		ids := make([]string, 0, len(batch))
		for id := range batch {
			ids = append(ids, id)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sts, err := r.read(ctx, ids)
		cancel()
		for id, chs := range batch {
			res := stateResult{err: err}
			if err == nil {
				if res.st = sts[id]; res.st == nil {
					res.err = store.Errorf(store.ENOTFOUND, "Webhook not found.")
				}
			}
			for _, ch := range chs {
				ch <- res
			}
		}
	}
}
