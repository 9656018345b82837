package delivery

import (
	"sync"

	"github.com/polyhook/polyhook/store"
)

// Ordered lanes (store/lanes.go has the rules, which the database enforces). What this
// file adds is speed: a delivery published here that found its lane busy is kept in
// memory, with its event and webhook, as its lane's successor, so that when the lane's
// head finishes here its recording claims the successor in the same transaction and
// hands it to the workers at once, with no poll and no read. Should anything else come
// first (another replica's publish, an operator's retry), the claim finds the
// successor no longer heads its lane and claims nothing: the lane goes on through the
// database (promotion, then the poll). What is kept is bounded by maxLaneWaiting.

type laneKey struct{ webhook, lane string }

type laneWaiting struct {
	mu      sync.Mutex
	waiting map[laneKey][]*claim
	n       int
}

// maxLaneWaiting bounds the deliveries kept as successors: past it, a lane goes on
// through the database only.
const maxLaneWaiting = 8192

// add keeps cl, a delivery waiting for its lane, as a successor.
func (l *laneWaiting) add(cl *claim) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n >= maxLaneWaiting {
		return
	}
	if l.waiting == nil {
		l.waiting = map[laneKey][]*claim{}
	}
	k := laneKey{cl.d.WebhookID, *cl.d.Lane}
	l.waiting[k] = append(l.waiting[k], cl)
	l.n++
}

// next takes the first successor kept in d's lane, but d itself.
func (l *laneWaiting) next(d *store.Delivery) *claim {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := laneKey{d.WebhookID, *d.Lane}
	q := l.waiting[k]
	for len(q) > 0 {
		cl := q[0]
		q[0] = nil
		q = q[1:]
		l.n--
		if cl.d.ID != d.ID {
			if len(q) == 0 {
				delete(l.waiting, k)
			} else {
				l.waiting[k] = q
			}
			return cl
		}
	}
	delete(l.waiting, k)
	return nil
}

// laneNext is the successor to claim once d, the head of its lane, finished for good:
// the first kept, if its endpoint takes it now (an open breaker's probe is the poll's
// to give).
func (e *Engine) laneNext(d *store.Delivery) *claim {
	if e.breakers.paused(d.WebhookID) {
		return nil
	}
	cl := e.lanes.next(d)
	if cl == nil {
		return nil
	}
	if _, ok := e.scheduler.claimable(cl.d.WebhookID, cl.d.ID); !ok {
		return nil
	}
	return cl
}
