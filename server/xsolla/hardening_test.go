package xsolla_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	api "github.com/polyhook/polyhook/gen/xsollaapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/server/xsolla"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// startHardened serves the dialect on db, with failed logins throttled by logins.
func startHardened(t *testing.T, db *store.DB, logins *server.Logins) *gateway {
	t.Helper()
	keys, _ := server.NewKeys("xsolla-test-master-key")
	d := xsolla.New(server.Deps{DB: db, Keys: keys, Log: servertest.Logger(t), Logins: logins})
	srv := server.New(servertest.Logger(t))
	srv.MaxBodyBytes = testLimit
	srv.Register(d)
	u := servertest.Serve(t, srv)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	return &gateway{url: u, db: db, keys: keys, dialect: d, contract: servertest.NewContract(t, spec, u)}
}

func tokenForm(id, secret string) string {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
}

var paths = map[string]string{"project_id": projectA, "event_type": "registration", "webhook_id": "1"}

// testLimit is the body limit of the servers here: small, so that an oversized body is
// sent whole before the answer.
const testLimit = 4 << 10

// hardening exercises the body limit, the throttling of failed logins and outages on
// servers of their own, and counts what they answered as exercised by into.
func hardening(t *testing.T, into *servertest.Contract) {
	t.Run("BodyLimit", func(t *testing.T) {
		g := startHardened(t, storetest.Open(t), nil)
		tok := g.token(t, g.credential(t, projectA))
		big := strings.Repeat("a", testLimit+1)
		bodies := g.contract.EachOperation(t, 413, false, paths, func(op servertest.Operation) *http.Request {
			return servertest.Request(t, op.Method, g.url+op.Path, big, "X-SERVER-AUTHORIZATION", tok, "Content-Type", "application/x-www-form-urlencoded")
		})
		for id, b := range bodies {
			if c := code(t, b); c != "003-413" {
				t.Errorf("%s: %s", id, b)
			}
		}
		// A body that never ends is cut off at the limit, on the unauthenticated token
		// endpoint as on an API method.
		for _, r := range []*http.Request{
			servertest.Request(t, "POST", g.url+"/api/oauth2/token", "", "Content-Type", "application/x-www-form-urlencoded"),
			servertest.Request(t, "POST", g.url+hooks(projectA, "registration"), "", "X-SERVER-AUTHORIZATION", tok, "Content-Type", "application/json"),
		} {
			status, b, sent := servertest.Endless(t, r)
			if status != 413 || code(t, b) != "003-413" || sent > 32<<20 {
				t.Errorf("%s with an endless body: %d %s after %d bytes", r.URL.Path, status, b, sent)
			}
		}
		into.Absorb(g.contract)
	})
	t.Run("FailedLogins", func(t *testing.T) {
		g := startHardened(t, storetest.Open(t), server.NewLogins(3, time.Hour))
		m, other := g.credential(t, projectA), g.credential(t, projectA)
		post := func(form string) (*http.Response, []byte) {
			return g.contract.Do(t, servertest.Request(t, "POST", g.url+"/api/oauth2/token", form, "Content-Type", "application/x-www-form-urlencoded"))
		}
		for i := 0; i < 3; i++ {
			if resp, b := post(tokenForm(m.Field("clientId"), "wrong")); resp.StatusCode != 401 || code(t, b) != "003-040" {
				t.Fatalf("failure %d: %d %s", i, resp.StatusCode, b)
			}
		}
		resp, b := post(tokenForm(m.Field("clientId"), "wrong"))
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || code(t, b) != "003-429" {
			t.Errorf("past the budget: %d %s", resp.StatusCode, b)
		}
		// Correct credentials are served all the same, this one and another.
		g.token(t, m)
		g.token(t, other)
		into.Absorb(g.contract)
	})
	t.Run("Outage", func(t *testing.T) {
		storetest.EachOutage(t, func(t *testing.T, db *store.DB, cut func()) {
			g := startHardened(t, db, nil)
			m := g.credential(t, projectA)
			tok := g.token(t, m)
			cut()
			bodies := g.contract.EachOperation(t, 503, true, paths, func(op servertest.Operation) *http.Request {
				if strings.EqualFold(op.ID, "generateJWT") {
					return servertest.Request(t, op.Method, g.url+op.Path, tokenForm(m.Field("clientId"), m.Field("clientSecret")), "Content-Type", "application/x-www-form-urlencoded")
				}
				return servertest.Request(t, op.Method, g.url+op.Path, `{"url":"https://example.com/h"}`, "X-SERVER-AUTHORIZATION", tok)
			})
			for id, b := range bodies {
				if c := code(t, b); c != "003-503" {
					t.Errorf("%s: %s", id, b)
				}
			}
			into.Absorb(g.contract)
		})
	})
}
