package nursa_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	api "github.com/polyhook/polyhook/gen/nursaapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// startHardened serves the dialect on db, with failed logins throttled by logins.
func startHardened(t *testing.T, db *store.DB, logins *server.Logins) *gateway {
	t.Helper()
	keys, _ := server.NewKeys("nursa-test-master-key")
	d := nursa.New(server.Deps{DB: db, Keys: keys, Log: servertest.Logger(t), Logins: logins})
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

func (g *gateway) mint(t *testing.T) *server.MintedCredential {
	t.Helper()
	m, err := g.dialect.MintCredential(context.Background(), server.CredentialRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tokenForm(id, secret string) string {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
}

const someID = "6a0e5a4e-3c0b-4f0e-9a55-0d7f4b1f7c11"

// testLimit is the body limit of the servers here: small, so that an oversized body is
// sent whole before the answer.
const testLimit = 4 << 10

// hardening exercises the body limit, the throttling of failed logins and outages on
// servers of their own, and counts what they answered as exercised by into.
func hardening(t *testing.T, into *servertest.Contract) {
	t.Run("BodyLimit", func(t *testing.T) {
		g := startHardened(t, storetest.Open(t), nil)
		_, tok := g.client(t)
		big := `{"url":"` + strings.Repeat("a", testLimit) + `"}`
		bodies := g.contract.EachOperation(t, 413, false, map[string]string{"webhookId": someID}, func(op servertest.Operation) *http.Request {
			return servertest.Request(t, op.Method, g.url+op.Path, big, "Authorization", "Bearer "+tok)
		})
		for id, b := range bodies {
			if e := decodeErr(t, b); e.StatusCode != 413 || e.Error != "Payload Too Large" {
				t.Errorf("%s: %s", id, b)
			}
		}
		// A body that never ends is cut off at the limit: on the unauthenticated token
		// endpoint, as JSON (which used to be read whole) and as a form, and on the API.
		for _, r := range []*http.Request{
			servertest.Request(t, "POST", g.url+"/oidc/oauth/token", "", "Content-Type", "application/json"),
			servertest.Request(t, "POST", g.url+"/oidc/oauth/token", "", "Content-Type", "application/x-www-form-urlencoded"),
			servertest.Request(t, "POST", g.url+path, "", "Authorization", "Bearer "+tok, "Content-Type", "application/json"),
		} {
			status, b, sent := servertest.Endless(t, r)
			if status != 413 || decodeErr(t, b).StatusCode != 413 || sent > 32<<20 {
				t.Errorf("%s %s with an endless body: %d %s after %d bytes", r.URL.Path, r.Header.Get("Content-Type"), status, b, sent)
			}
		}
		into.Absorb(g.contract)
	})
	t.Run("FailedLogins", func(t *testing.T) {
		g := startHardened(t, storetest.Open(t), server.NewLogins(3, time.Hour))
		m, other := g.mint(t), g.mint(t)
		post := func(form string) (*http.Response, []byte) {
			return g.contract.Do(t, servertest.Request(t, "POST", g.url+"/oidc/oauth/token", form, "Content-Type", "application/x-www-form-urlencoded"))
		}
		for i := 0; i < 3; i++ {
			if resp, b := post(tokenForm(m.Field("clientId"), "wrong")); resp.StatusCode != 401 {
				t.Fatalf("failure %d: %d %s", i, resp.StatusCode, b)
			}
		}
		resp, b := post(tokenForm(m.Field("clientId"), "wrong"))
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "429") {
			t.Errorf("past the budget: %d %s", resp.StatusCode, b)
		}
		// Correct credentials are served all the same, this one and another.
		for _, c := range []*server.MintedCredential{m, other} {
			if resp, b := post(tokenForm(c.Field("clientId"), c.Field("clientSecret"))); resp.StatusCode != 200 {
				t.Errorf("a correct secret past the budget: %d %s", resp.StatusCode, b)
			}
		}
		into.Absorb(g.contract)
	})
	t.Run("Outage", func(t *testing.T) {
		storetest.EachOutage(t, func(t *testing.T, db *store.DB, cut func()) {
			g := startHardened(t, db, nil)
			m := g.mint(t)
			resp, b := g.contract.Do(t, servertest.Request(t, "POST", g.url+"/oidc/oauth/token", tokenForm(m.Field("clientId"), m.Field("clientSecret")), "Content-Type", "application/x-www-form-urlencoded"))
			if resp.StatusCode != 200 {
				t.Fatalf("token: %d %s", resp.StatusCode, b)
			}
			tok := strings.Split(strings.Split(string(b), `"access_token":"`)[1], `"`)[0]
			cut()
			bodies := g.contract.EachOperation(t, 503, true, map[string]string{"webhookId": someID}, func(op servertest.Operation) *http.Request {
				if strings.EqualFold(op.ID, "issueToken") {
					return servertest.Request(t, op.Method, g.url+op.Path, tokenForm(m.Field("clientId"), m.Field("clientSecret")), "Content-Type", "application/x-www-form-urlencoded")
				}
				return servertest.Request(t, op.Method, g.url+op.Path, `{"url":"https://example.com/h","events":["all"]}`, "Authorization", "Bearer "+tok)
			})
			for id, b := range bodies {
				if e := decodeErr(t, b); e.StatusCode != 503 || e.Error != "Service Unavailable" {
					t.Errorf("%s: %s", id, b)
				}
			}
			into.Absorb(g.contract)
		})
	})
}
