package authing_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/authingapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/authing"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// testLimit is the body limit of the servers here: small, so that an oversized body is
// sent whole before the answer.
const testLimit = 4 << 10

// startHardened serves the dialect on db, with failed logins throttled by logins.
func startHardened(t *testing.T, db *store.DB, logins *server.Logins) *gateway {
	t.Helper()
	keys, _ := server.NewKeys("authing-test-master-key")
	log := servertest.Logger(t)
	engine, err := delivery.New(db, delivery.Config{Log: log, Sender: delivery.SenderOptions{AllowPrivateTargets: true}})
	if err != nil {
		t.Fatal(err)
	}
	engine.Register(authing.Encoder{})
	d := authing.New(server.Deps{DB: db, Keys: keys, Log: log, Logins: logins, Engine: engine})
	srv := server.New(log)
	srv.MaxBodyBytes = testLimit
	srv.Register(d)
	u := servertest.Serve(t, srv)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	return &gateway{url: u, db: db, dialect: d, engine: engine, contract: servertest.NewContract(t, spec, u)}
}

func decode(t *testing.T, b []byte) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil || e.RequestID == "" {
		t.Fatalf("not an error envelope: %s", b)
	}
	return e
}

func tokenBody(ak, sk string) string {
	return `{"accessKeyId":"` + ak + `","accessKeySecret":"` + sk + `"}`
}

// hardening exercises the body limit, the throttling of failed logins and outages on
// servers of their own, and counts what they answered as exercised by into.
func hardening(t *testing.T, into *servertest.Contract) {
	t.Run("BodyLimit", func(t *testing.T) {
		g := startHardened(t, storetest.Open(t), nil)
		m := g.mint(t)
		tok := g.token(t, m)
		big := `{"name":"` + strings.Repeat("a", testLimit) + `"}`
		bodies := g.contract.EachOperation(t, 413, false, nil, func(op servertest.Operation) *http.Request {
			return servertest.Request(t, op.Method, g.url+op.Path, big, "Authorization", "Bearer "+tok, "X-Authing-Userpool-Id", m.Field("userPoolId"))
		})
		for id, b := range bodies {
			if e := decode(t, b); e.StatusCode != 413 || e.APICode != 4130 {
				t.Errorf("%s: %s", id, b)
			}
		}
		for _, r := range []*http.Request{
			servertest.Request(t, "POST", g.url+"/api/v3/get-management-token", "", "Content-Type", "application/json"),
			servertest.Request(t, "POST", g.url+"/api/v3/create-webhook", "", "Authorization", "Bearer "+tok, "X-Authing-Userpool-Id", m.Field("userPoolId"), "Content-Type", "application/json"),
		} {
			status, b, sent := servertest.Endless(t, r)
			if status != 413 || decode(t, b).APICode != 4130 || sent > 32<<20 {
				t.Errorf("%s with an endless body: %d %s after %d bytes", r.URL.Path, status, b, sent)
			}
		}
		into.Absorb(g.contract)
	})
	t.Run("FailedLogins", func(t *testing.T) {
		g := startHardened(t, storetest.Open(t), server.NewLogins(3, time.Hour))
		m, other := g.mint(t), g.mint(t)
		post := func(body string) (*http.Response, []byte) {
			return g.contract.Do(t, servertest.Request(t, "POST", g.url+"/api/v3/get-management-token", body))
		}
		for i := 0; i < 3; i++ {
			if resp, b := post(tokenBody(m.Field("accessKeyId"), "wrong")); resp.StatusCode != 200 || decode(t, b).APICode != 4010 {
				t.Fatalf("failure %d: %d %s", i, resp.StatusCode, b)
			}
		}
		resp, b := post(tokenBody(m.Field("accessKeyId"), "wrong"))
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || decode(t, b).APICode != 4290 {
			t.Errorf("past the budget: %d %s", resp.StatusCode, b)
		}
		// A signature made with a wrong secret is a failed login too.
		resp, b = g.contract.Do(t, signed(t, g.url, "GET", "/api/v3/list-webhooks", "", map[string]string{"page": "1"}, m.Field("accessKeyId"), "wrong", nil))
		if resp.StatusCode != 429 || decode(t, b).APICode != 4290 {
			t.Errorf("a bad signature past the budget: %d %s", resp.StatusCode, b)
		}
		// Correct credentials are served all the same: a token for this key and another,
		// and a correct signature.
		g.token(t, m)
		g.token(t, other)
		resp, b = g.contract.Do(t, signed(t, g.url, "GET", "/api/v3/list-webhooks", "", map[string]string{"page": "1"}, m.Field("accessKeyId"), m.Field("accessKeySecret"), nil))
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"statusCode":200`) {
			t.Errorf("a correct signature past the budget: %d %s", resp.StatusCode, b)
		}
		into.Absorb(g.contract)
	})
	t.Run("Outage", func(t *testing.T) {
		storetest.EachOutage(t, func(t *testing.T, db *store.DB, cut func()) {
			g := startHardened(t, db, nil)
			m := g.mint(t)
			tok := g.token(t, m)
			cut()
			bodies := g.contract.EachOperation(t, 503, true, nil, func(op servertest.Operation) *http.Request {
				if strings.EqualFold(op.ID, "getManagementToken") {
					return servertest.Request(t, op.Method, g.url+op.Path, tokenBody(m.Field("accessKeyId"), m.Field("accessKeySecret")))
				}
				return servertest.Request(t, op.Method, g.url+op.Path, `{"webhookId":"x"}`, "Authorization", "Bearer "+tok, "X-Authing-Userpool-Id", m.Field("userPoolId"))
			})
			for id, b := range bodies {
				if e := decode(t, b); e.StatusCode != 503 || e.APICode != 5030 {
					t.Errorf("%s: %s", id, b)
				}
			}
			into.Absorb(g.contract)
		})
	})
}
