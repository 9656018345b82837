package fusionauth_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	api "github.com/polyhook/polyhook/gen/fusionauthapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// testLimit is the body limit of the servers here: small, so that an oversized body is
// sent whole before the answer.
const testLimit = 4 << 10

// startHardened serves the dialect on db, with failed logins throttled by logins, and mints a
// key.
func startHardened(t *testing.T, db *store.DB, logins *server.Logins) *gateway {
	t.Helper()
	keys, _ := server.NewKeys("fusionauth-test-master-key")
	d := fusionauth.New(server.Deps{DB: db, Keys: keys, Log: servertest.Logger(t), Logins: logins})
	srv := server.New(servertest.Logger(t))
	srv.MaxBodyBytes = testLimit
	srv.Register(d)
	u := servertest.Serve(t, srv)
	m, err := d.MintCredential(context.Background(), server.CredentialRequest{})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	return &gateway{url: u, key: m.Field("apiKey"), db: db, contract: servertest.NewContract(t, spec, u)}
}

var ids = map[string]string{"webhookId": "2f8e0d59-6f26-4d6a-9d3b-2b2d3b5e4a11"}

// hardening exercises the body limit, the throttling of failed logins and outages on
// servers of their own, and counts what they answered as exercised by into.
func hardening(t *testing.T, into *servertest.Contract) {
	t.Run("BodyLimit", func(t *testing.T) {
		g := startHardened(t, storetest.Open(t), nil)
		big := `{"webhook":{"description":"` + strings.Repeat("a", testLimit) + `"}}`
		bodies := g.contract.EachOperation(t, 413, false, ids, func(op servertest.Operation) *http.Request {
			return servertest.Request(t, op.Method, g.url+op.Path, big, "Authorization", g.key)
		})
		for id, b := range bodies {
			if c := codes(t, b); !reflect.DeepEqual(c, []string{"[tooLarge]"}) {
				t.Errorf("%s: %s", id, b)
			}
		}
		status, b, sent := servertest.Endless(t, servertest.Request(t, "POST", g.url+"/api/webhook", "", "Authorization", g.key, "Content-Type", "application/json"))
		if status != 413 || sent > 32<<20 {
			t.Errorf("an endless body: %d %s after %d bytes", status, b, sent)
		}
		into.Absorb(g.contract)
	})
	t.Run("FailedLogins", func(t *testing.T) {
		g := startHardened(t, storetest.Open(t), server.NewLogins(3, time.Hour))
		for i := 0; i < 3; i++ {
			if status := g.anon(t, "GET", "/api/webhook", "", "Authorization", "wrong"); status != 401 {
				t.Fatalf("failure %d: %d", i, status)
			}
		}
		// Past the budget every authenticated method answers 429, with Retry-After and
		// FusionAuth's empty body...
		g.contract.EachOperation(t, 429, true, ids, func(op servertest.Operation) *http.Request {
			return servertest.Request(t, op.Method, g.url+op.Path, `{}`, "Authorization", "wrong")
		})
		// ...and the correct key is served all the same.
		if status, b, _ := g.do(t, "GET", "/api/webhook", ""); status != 200 {
			t.Errorf("the correct key past the budget: %d %s", status, b)
		}
		into.Absorb(g.contract)
	})
	t.Run("Outage", func(t *testing.T) {
		storetest.EachOutage(t, func(t *testing.T, db *store.DB, cut func()) {
			g := startHardened(t, db, nil)
			cut()
			g.contract.EachOperation(t, 503, true, ids, func(op servertest.Operation) *http.Request {
				return servertest.Request(t, op.Method, g.url+op.Path, fullBody, "Authorization", g.key)
			})
			into.Absorb(g.contract)
		})
	})
}
