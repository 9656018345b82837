package native_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/gateway"
	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// testLimit is the body limit of the servers here: small, so that an oversized body is
// sent whole before the answer.
const testLimit = 4 << 10

// startOn serves the native API (and FusionAuth, to mint for) on db, with failed logins
// throttled by logins, and returns its URL and contract.
func startOn(t *testing.T, db *store.DB, logins *server.Logins) (string, *servertest.Contract) {
	t.Helper()
	keys, _ := server.NewKeys("native-test-master-key")
	log := servertest.Logger(t)
	deps := server.Deps{DB: db, Keys: keys, Log: log, Logins: logins, MaxBodyBytes: testLimit}
	engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log, Sender: delivery.SenderOptions{AllowPrivateTargets: true}})
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.New(gateway.Config{Deps: deps, Engine: engine, TokenHash: store.HashSecret(token)})
	u := servertest.Serve(t, srv)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	return u, servertest.NewContract(t, spec, u)
}

func errorCode(t *testing.T, b []byte) string {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not the native error envelope: %s", b)
	}
	return string(e.Error.Code)
}

// bodies are request bodies that get each operation as far as the database.
var bodies = map[string]string{
	"createcredential":    `{"dialect":"fusionauth"}`,
	"publishevent":        `{"type":"user.created","data":{}}`,
	"createkey":           `{"algorithm":"HS256"}`,
	"rotatewebhooksecret": `{"graceSeconds":60}`,
	"recoverwebhook":      `{"since":"2026-01-01T00:00:00Z"}`,
	"createwebhook":       `{"url":"https://example.com/hook","events":["user.created"]}`,
	"createportallink":    `{"tenant":"t1"}`,
	"createsource":        `{"dialect":"fusionauth"}`,
}

func bodyOf(op servertest.Operation) string {
	if b, ok := bodies[strings.ToLower(op.ID)]; ok {
		return b
	}
	return `{}`
}

// hardening exercises the body limit, the throttling of failed logins and outages on
// servers of their own, and counts what they answered as exercised by into.
func hardening(t *testing.T, into *servertest.Contract) {
	auth := []string{"Authorization", "Bearer " + token}
	t.Run("BodyLimit", func(t *testing.T) {
		u, c := startOn(t, storetest.Open(t), nil)
		big := `{"type":"` + strings.Repeat("a", testLimit) + `"}`
		for id, b := range c.EachOperation(t, 413, false, nil, func(op servertest.Operation) *http.Request {
			return servertest.Request(t, op.Method, u+op.Path, big, auth...)
		}) {
			if code := errorCode(t, b); code != "too_large" {
				t.Errorf("%s: %s", id, b)
			}
		}
		status, b, sent := servertest.Endless(t, servertest.Request(t, "POST", u+"/v1/events", "", append(auth, "Content-Type", "application/json")...))
		if status != 413 || errorCode(t, b) != "too_large" || sent > 32<<20 {
			t.Errorf("an endless body: %d %s after %d bytes", status, b, sent)
		}
		into.Absorb(c)
	})
	t.Run("FailedLogins", func(t *testing.T) {
		u, c := startOn(t, storetest.Open(t), server.NewLogins(3, time.Hour))
		for i := 0; i < 3; i++ {
			if resp, b := c.Do(t, servertest.Request(t, "GET", u+"/v1/webhooks", "", "Authorization", "Bearer wrong")); resp.StatusCode != 401 {
				t.Fatalf("failure %d: %d %s", i, resp.StatusCode, b)
			}
		}
		for id, b := range c.EachOperation(t, 429, true, nil, func(op servertest.Operation) *http.Request {
			return servertest.Request(t, op.Method, u+op.Path, bodyOf(op), "Authorization", "Bearer wrong")
		}) {
			if code := errorCode(t, b); code != "throttled" {
				t.Errorf("%s: %s", id, b)
			}
		}
		// The correct token is served all the same.
		if resp, b := c.Do(t, servertest.Request(t, "GET", u+"/v1/webhooks", "", auth...)); resp.StatusCode != 200 {
			t.Errorf("the correct token past the budget: %d %s", resp.StatusCode, b)
		}
		into.Absorb(c)
	})
	t.Run("Outage", func(t *testing.T) {
		storetest.EachOutage(t, func(t *testing.T, db *store.DB, cut func()) {
			u, c := startOn(t, db, nil)
			cut()
			for id, b := range c.EachOperation(t, 503, true, nil, func(op servertest.Operation) *http.Request {
				return servertest.Request(t, op.Method, u+op.Path, bodyOf(op), auth...)
			}) {
				if id == "Readyz" || id == "readyz" {
					continue // its own body: {"status": "unavailable", "error"}
				}
				if code := errorCode(t, b); code != "unavailable" {
					t.Errorf("%s: %s", id, b)
				}
			}
			into.Absorb(c)
		})
	})
}
