package delivery

import (
	"context"
	"sync"

	"github.com/polyhook/polyhook/store"
)

// Reading a webhook as it is now costs an attempt one small read of its state (version,
// disabling, health; store.WebhookStateByID), not of the whole webhook with its secrets
// opened: the content is taken from a copy read earlier (the publish's own, or one
// kept here) as long as the version in the database is still that copy's, whichever
// replica changed it. Every change of a webhook's content bumps its version.

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
	st, err := e.db.WebhookStateByID(ctx, id)
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
