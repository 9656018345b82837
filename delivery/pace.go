package delivery

import (
	"context"
	"sync"
)

// pacers lets one attempt at a time, per rate-limited webhook, wait for its start in
// this process (see paced): the others queue here rather than each ask the database
// for the same start, again and again, while it is taken. Replicas each have their own
// one waiter per webhook; the database decides between them.
type pacers struct {
	mu sync.Mutex
	m  map[string]*pacer
}

type pacer struct {
	turn  chan struct{} // holds a token while an attempt waits for its start
	users int           // attempts holding or waiting for the turn
}

// take waits for the webhook's turn; release gives it back. It returns false, with no
// turn, when ctx ends first.
func (ps *pacers) take(ctx context.Context, webhookID string) (*pacer, bool) {
	ps.mu.Lock()
	if ps.m == nil {
		ps.m = map[string]*pacer{}
	}
	p := ps.m[webhookID]
	if p == nil {
		p = &pacer{turn: make(chan struct{}, 1)}
		ps.m[webhookID] = p
	}
	p.users++
	ps.mu.Unlock()
	select {
	case p.turn <- struct{}{}:
		return p, true
	case <-ctx.Done():
		ps.leave(webhookID, p)
		return nil, false
	}
}

func (ps *pacers) release(webhookID string, p *pacer) {
	<-p.turn
	ps.leave(webhookID, p)
}

// leave forgets the webhook's pacer once no attempt uses it: the map holds only the
// webhooks attempts wait for now.
func (ps *pacers) leave(webhookID string, p *pacer) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p.users--; p.users == 0 {
		delete(ps.m, webhookID)
	}
}
