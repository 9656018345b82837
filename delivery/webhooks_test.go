package delivery

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
)

// Reads of webhooks' states asked for while one runs wait for the next, which serves
// them all in one query; each is served by a read that began after it asked.
func TestStateReads_BatchWhileOneRuns(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	gate := make(chan struct{})
	var mu sync.Mutex
	var begun []time.Time
	r := &stateReads{read: func(_ context.Context, ids []string) (map[string]*store.WebhookState, error) {
		mu.Lock()
		begun = append(begun, time.Now())
		mu.Unlock()
		if calls.Add(1) == 1 {
			<-gate // the first read is slow: the others ask meanwhile
		}
		out := map[string]*store.WebhookState{}
		for _, id := range ids {
			if id != "gone" {
				out[id] = &store.WebhookState{Version: int64(len(id))}
			}
		}
		return out, nil
	}}
	first := make(chan error, 1)
	go func() { _, err := r.get(context.Background(), "a"); first <- err }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := until(ctx, func() bool { return calls.Load() > 0 }); err != nil {
		t.Fatal("the first read did not begin")
	}
	asked := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		id := []string{"a", "bb", "ccc", "gone"}[i%4]
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := r.get(context.Background(), id)
			switch {
			case id == "gone" && store.ErrorCode(err) != store.ENOTFOUND:
				errs <- err
			case id != "gone" && (err != nil || st.Version != int64(len(id))):
				errs <- err
			}
		}()
	}
	waiting := func() bool { // all of them wait for the next read
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		for _, chs := range r.waiting {
			n += len(chs)
		}
		return n == 30
	}
	if err := until(ctx, waiting); err != nil {
		t.Fatal("the requests did not all wait")
	}
	close(gate)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Errorf("read: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d reads for 31 requests, want 2 (the slow one, then one for all who asked meanwhile)", n)
	}
	if len(begun) == 2 && begun[1].Before(asked) {
		t.Error("requests were served by a read that began before they asked")
	}
}

// A request that gives up waiting returns its context's error.
func TestStateReads_Cancelled(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	defer close(gate)
	r := &stateReads{read: func(context.Context, []string) (map[string]*store.WebhookState, error) {
		<-gate
		return nil, nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.get(ctx, "a"); err != context.DeadlineExceeded {
		t.Errorf("err %v", err)
	}
}
