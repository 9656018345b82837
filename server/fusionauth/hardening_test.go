package fusionauth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store/storetest"
)

var ids = map[string]string{"webhookId": "2f8e0d59-6f26-4d6a-9d3b-2b2d3b5e4a11"}

// throttled checks what the suite's failed logins do not: FusionAuth checks the key on
// every request, so that past the budget every authenticated operation answers 429, with
// Retry-After and FusionAuth's empty body, while the correct key is served all the same.
// What it answered counts as exercised by into.
func throttled(t *testing.T, into *servertest.Contract) {
	g := startOn(t, storetest.Open(t), func(d *server.Deps) { d.Logins = server.NewLogins(3, time.Hour) })
	for i := 0; i < 3; i++ {
		if status := g.anon(t, "GET", "/api/webhook", "", "Authorization", "wrong"); status != 401 {
			t.Fatalf("failure %d: %d", i, status)
		}
	}
	g.contract.EachOperation(t, 429, true, ids, func(op servertest.Operation) *http.Request {
		return servertest.Request(t, op.Method, g.url+op.Path, `{}`, "Authorization", "wrong")
	})
	if status, b, _ := g.do(t, "GET", "/api/webhook", ""); status != 200 {
		t.Errorf("the correct key past the budget: %d %s", status, b)
	}
	into.Absorb(g.contract)
}
