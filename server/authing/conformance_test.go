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
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
)

func tokenBody(ak, sk string) string {
	return `{"accessKeyId":"` + ak + `","accessKeySecret":"` + sk + `"}`
}

// conformance is the Authing dialect as the conformance suite sees it.
func conformance() dialecttest.Dialect {
	return dialecttest.Dialect{
		New:        func(deps server.Deps) server.Dialect { return authing.New(deps) },
		Spec:       api.GetSwagger,
		Credential: func(int) server.CredentialRequest { return server.CredentialRequest{} },
		Auth: func(t testing.TB, base string, m *server.MintedCredential) []string {
			resp, err := http.DefaultClient.Do(servertest.Request(t, "POST", base+"/api/v3/get-management-token", tokenBody(m.Field("accessKeyId"), m.Field("accessKeySecret"))))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env struct {
				Data struct {
					AccessToken string `json:"access_token"`
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Data.AccessToken == "" {
				t.Fatalf("management token: %d %v", resp.StatusCode, err)
			}
			return []string{"Authorization", "Bearer " + env.Data.AccessToken, "X-Authing-Userpool-Id", m.Field("userPoolId")}
		},
		Request: func(t testing.TB, base string, op servertest.Operation, m *server.MintedCredential, headers []string, body string) *http.Request {
			if strings.EqualFold(op.ID, "getManagementToken") {
				if body == "" {
					secret := m.Field("accessKeySecret")
					if headers == nil {
						secret = "wrong"
					}
					body = tokenBody(m.Field("accessKeyId"), secret)
				}
				return servertest.Request(t, op.Method, base+op.Path, body)
			}
			if body == "" {
				body = `{"webhookId":"x"}`
			}
			return servertest.Request(t, op.Method, base+op.Path, body, headers...)
		},
		// Errors are an envelope {statusCode, message, apiCode, requestId}, whatever the
		// HTTP status (200 for most: the SDK throws on a 4xx).
		Envelope: func(t testing.TB, status int, b []byte) {
			t.Helper()
			var e envelope
			if err := json.Unmarshal(b, &e); err != nil || e.StatusCode != status || e.APICode != status*10 || e.RequestID == "" {
				t.Errorf("not Authing's %d envelope: %s", status, b)
			}
		},
		Unrouted: []dialecttest.Unrouted{
			{Method: "GET", Path: "/api/v3/create-webhook", Status: 200, Response: "Unrouted", Code: 405}, {Method: "DELETE", Path: "/api/v3/delete-webhook", Status: 200, Response: "Unrouted", Code: 405},
			{Method: "POST", Path: "/api/v3/list-webhooks", Status: 200, Response: "Unrouted", Code: 405}, {Method: "POST", Path: "/api/v3/create-user", Status: 200, Response: "Unrouted", Code: 404},
			{Method: "GET", Path: "/api/v3", Status: 200, Response: "Unrouted", Code: 404},
		},
		WrongLogin: func(t testing.TB, base string, m *server.MintedCredential) *http.Request {
			return servertest.Request(t, "POST", base+"/api/v3/get-management-token", tokenBody(m.Field("accessKeyId"), "wrong"))
		},
		LoginFailed: 200,
		Create: func(t testing.TB, base string, auth []string, m *server.MintedCredential, target, native string) (*http.Request, string) {
			body := `{"name":"n","url":"` + target + `","events":["` + native + `"],"contentType":"application/json","secret":"s3cret-of-the-hook"}`
			return servertest.Request(t, "POST", base+"/api/v3/create-webhook", body, auth...), m.Field("userPoolId")
		},
		Created: 200,
		Invalid: 400,
		Golden:  []dialecttest.Golden{goldenAuthing("application/json", "testdata/delivery.golden.json"), goldenAuthing("application/x-www-form-urlencoded", "testdata/delivery.golden.form")},
		Ingest: &dialecttest.Ingest{Tenant: true, Signs: true, Examples: []dialecttest.Example{{
			File:   "testdata/ingest.password-changed.json",
			Header: http.Header{"Content-Type": {"application/json"}, "X-Authing-Userpool-Id": {"5f8d0d55b0b6a1c9a4a10000"}},
			Want:   server.Inbound{Name: "user:password-changed", Tenant: "5f8d0d55b0b6a1c9a4a10000", Data: json.RawMessage(`{"userId":"5f8d0d55b0b6a1c9a4a1e2f3"}`)},
		}, {
			File:   "testdata/ingest.test.form",
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			Want:   server.Inbound{Name: "test", Data: json.RawMessage(`{"description":"A test from Authing Webhook"}`)},
		}}},
		Count: func(t testing.TB, base string, auth []string, _ *server.MintedCredential) int {
			resp, err := http.DefaultClient.Do(servertest.Request(t, "GET", base+"/api/v3/list-webhooks?page=1&limit=50", "", auth...))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				StatusCode int
				Data       struct{ TotalCount int }
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.StatusCode != 200 {
				t.Fatalf("list webhooks: %d %v", resp.StatusCode, err)
			}
			return e.Data.TotalCount
		},
	}
}

var goldenAt = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// goldenAuthing pins a delivery in contentType, with Authing's headers.
func goldenAuthing(contentType, file string) dialecttest.Golden {
	return dialecttest.Golden{File: file, Message: delivery.Message{
		DeliveryID: "msg_1", EventID: "evt_1", EventName: "user:email-verified", OccurredAt: goldenAt, At: goldenAt,
		Data:    json.RawMessage(`{"userId":"u1", "email":"ada@example.com"}`),
		Webhook: &store.Webhook{URL: "https://example.com", Owner: "62a0b0c0d0e0f00011223344", ContentType: contentType, Secrets: []string{"s3cret"}},
	}, Want: map[string]string{"Content-Type": contentType, "X-Authing-Webhook-Secret": "s3cret", "X-Authing-Userpool-Id": "62a0b0c0d0e0f00011223344", "User-Agent": "authing-webhook@2.0"}}
}
