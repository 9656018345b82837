package native_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/store"
)

// exerciseCircuit checks that GET /v1/webhooks/{id} and the list show the endpoint's
// breaker as every replica shares it: closed, open with its end, half-open once the
// pause is over, closed again.
func exerciseCircuit(t *testing.T, do doFunc, db *store.DB, id string) {
	t.Helper()
	ctx := context.Background()
	get := func() api.Circuit {
		t.Helper()
		status, b := do("GET", "/v1/webhooks/"+id, "")
		var w api.Webhook
		if err := json.Unmarshal(b, &w); status != 200 || err != nil || w.Circuit == nil {
			t.Fatalf("get webhook: %d %s", status, b)
		}
		return *w.Circuit
	}
	if c := get(); c.State != api.CircuitClosed || c.Until != nil {
		t.Errorf("no breaker: %+v", c)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	if _, _, err := db.OpenBreaker(ctx, id, at, time.Hour); err != nil {
		t.Fatal(err)
	}
	if c := get(); c.State != api.CircuitOpen || c.Until == nil || !c.Until.Equal(at.Add(time.Hour)) {
		t.Errorf("open breaker: %+v, want open until %s", c, at.Add(time.Hour))
	}
	status, b := do("GET", "/v1/webhooks?limit=1000", "")
	var list struct{ Webhooks []api.Webhook }
	if err := json.Unmarshal(b, &list); status != 200 || err != nil {
		t.Fatalf("list: %d %s", status, b)
	}
	for _, w := range list.Webhooks {
		want := api.CircuitClosed
		if w.Id == id {
			want = api.CircuitOpen
		}
		if w.Circuit == nil || w.Circuit.State != want {
			t.Errorf("listed %s: circuit %+v, want %s", w.Id, w.Circuit, want)
		}
	}
	if _, err := db.CloseBreaker(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.OpenBreaker(ctx, id, at.Add(-time.Hour), time.Second); err != nil {
		t.Fatal(err)
	}
	if c := get(); c.State != api.CircuitHalfOpen || c.Until != nil {
		t.Errorf("a breaker whose pause is over: %+v, want half-open", c)
	}
	if _, err := db.CloseBreaker(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	if c := get(); c.State != api.CircuitClosed {
		t.Errorf("closed again: %+v", c)
	}
}
