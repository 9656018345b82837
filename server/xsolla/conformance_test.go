package xsolla_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/xsollaapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/server/xsolla"
	"github.com/polyhook/polyhook/store"
)

// conformance is the Xsolla dialect as the conformance suite sees it.
func conformance() dialecttest.Dialect {
	project := func(m *server.MintedCredential) string { return m.Fields["projectIds"].([]string)[0] }
	tokenOf := func(t testing.TB, base string, m *server.MintedCredential) string {
		form := tokenForm(m.Field("clientId"), m.Field("clientSecret"))
		resp, err := http.DefaultClient.Do(servertest.Request(t, "POST", base+"/api/oauth2/token", form, "Content-Type", "application/x-www-form-urlencoded"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 200 {
			t.Fatalf("token: %d %v", resp.StatusCode, err)
		}
		return tr.AccessToken
	}
	return dialecttest.Dialect{
		New:  func(deps server.Deps) server.Dialect { return xsolla.New(deps) },
		Spec: api.GetSwagger,
		Credential: func(i int) server.CredentialRequest {
			return projectsRequest([]string{[]string{projectA, projectB}[i%2]})
		},
		Auth: func(t testing.TB, base string, m *server.MintedCredential) []string {
			return []string{"X-SERVER-AUTHORIZATION", tokenOf(t, base, m)}
		},
		Params: paths,
		Request: func(t testing.TB, base string, op servertest.Operation, m *server.MintedCredential, headers []string, body string) *http.Request {
			if strings.EqualFold(op.ID, "generateJWT") {
				if body == "" {
					secret := m.Field("clientSecret")
					if headers == nil {
						secret = "wrong"
					}
					body = tokenForm(m.Field("clientId"), secret)
				}
				return servertest.Request(t, op.Method, base+op.Path, body, "Content-Type", "application/x-www-form-urlencoded")
			}
			if body == "" {
				body = `{"url":"https://example.com/h"}`
			}
			return servertest.Request(t, op.Method, base+op.Path, body, append([]string{"Content-Type", "application/json"}, headers...)...)
		},
		Envelope: func(t testing.TB, status int, b []byte) {
			t.Helper()
			want := map[int]string{401: "003-040", 422: "002-027", 413: "003-413", 429: "003-429", 503: "003-503", 404: "003-061", 405: "000-405"}[status]
			var e struct {
				Error struct{ Code, Description string }
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Description == "" || (want != "" && e.Error.Code != want) {
				t.Errorf("not Xsolla's %d envelope (code %s): %s", status, want, b)
			}
		},
		Unrouted: []dialecttest.Unrouted{
			{Method: "PUT", Path: hooks(projectA, "registration"), Status: 405, Response: "UnroutedMethod"},
			{Method: "PATCH", Path: hooks(projectA, "registration") + "/1", Status: 405, Response: "UnroutedMethod"},
			{Method: "GET", Path: "/api/oauth2/token", Status: 405, Response: "UnroutedMethod"},
			{Method: "GET", Path: "/api/projects/" + projectA, Status: 404, Response: "UnroutedNotFound"},
			{Method: "GET", Path: "/api/projects", Status: 404, Response: "UnroutedNotFound"},
			{Method: "POST", Path: "/api/oauth2/authorize", Status: 404, Response: "UnroutedNotFound"},
		},
		WrongLogin: func(t testing.TB, base string, m *server.MintedCredential) *http.Request {
			return servertest.Request(t, "POST", base+"/api/oauth2/token", tokenForm(m.Field("clientId"), "wrong"), "Content-Type", "application/x-www-form-urlencoded")
		},
		LoginFailed: 401,
		Create: func(t testing.TB, base string, auth []string, m *server.MintedCredential, target, native string) (*http.Request, string) {
			return servertest.Request(t, "POST", base+hooks(project(m), url.PathEscape(native)), `{"url":"`+target+`"}`, auth...), project(m)
		},
		Created: 200,
		Invalid: 422,
		Golden: []dialecttest.Golden{{File: "testdata/delivery.golden.json", Message: delivery.Message{
			DeliveryID: "msg_1", EventID: "evt_1", EventName: "registration", OccurredAt: goldenAt, At: goldenAt,
			Data:    json.RawMessage(`{"user":{"id":"u1","email":"ada@example.com"}}`),
			Webhook: &store.Webhook{Owner: projectA, URL: "https://example.com"},
		}, Want: map[string]string{"Content-Type": "application/json"}}},
		Ingest: &dialecttest.Ingest{Time: time.Second, Tenant: true, Examples: []dialecttest.Example{{
			File: "testdata/ingest.registration.json",
			Want: server.Inbound{
				Name: "registration", Tenant: "4f2a9b1c-7d3e-4a5f-8b6c-9d0e1f2a3b4c", OccurredAt: time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC),
				Data: json.RawMessage(`{"user":{"id":"a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d","email":"player@example.com","username":"player1"}}`),
			},
		}}},
		Count: func(t testing.TB, base string, auth []string, m *server.MintedCredential) int {
			n := 0
			for _, p := range []string{projectA, projectB} {
				resp, err := http.DefaultClient.Do(servertest.Request(t, "GET", base+hooks(p, "registration"), "", auth...))
				if err != nil {
					t.Fatal(err)
				}
				var ws []json.RawMessage
				if resp.StatusCode == 200 {
					_ = json.NewDecoder(resp.Body).Decode(&ws)
				}
				resp.Body.Close()
				n += len(ws)
			}
			return n
		},
	}
}

func tokenForm(id, secret string) string {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
}

var paths = map[string]string{"project_id": projectA, "event_type": "registration", "webhook_id": "1"}

var goldenAt = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
