package native_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/gateway"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
)

// startGateway serves every API on db with a running engine that may deliver to loopback
// receivers, as "polyhook serve" wires them, and returns its base URL. The admin token is
// token.
func startGateway(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	keys, _ := server.NewKeys("native-test-master-key")
	log := servertest.Logger(t)
	deps := server.Deps{DB: db, Keys: keys, Log: log}
	engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log, Sender: delivery.SenderOptions{AllowPrivateTargets: true}})
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.New(gateway.Config{Deps: deps, Engine: engine, TokenHash: store.HashSecret(token)})
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = engine.Stop(stop)
	})
	return servertest.Serve(t, srv)
}

// receiver records every request it gets, by path.
type receiver struct {
	URL string
	mu  sync.Mutex
	got map[string][]received
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: map[string][]received{}}
	r.URL = servertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got[req.URL.Path] = append(r.got[req.URL.Path], received{req.Header.Clone(), b})
		r.mu.Unlock()
	}))
	return r
}

// wait returns the first n requests to path, failing the test when they do not come.
func (r *receiver) wait(t *testing.T, path string, n int) []received {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r.mu.Lock()
		got := append([]received(nil), r.got[path]...)
		r.mu.Unlock()
		if len(got) >= n {
			return got[:n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d requests, want %d", path, len(got), n)
		}
	}
}
