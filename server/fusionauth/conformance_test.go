package fusionauth_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/fusionauthapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
)

// conformance is the FusionAuth dialect as the conformance suite sees it.
func conformance() dialecttest.Dialect {
	return dialecttest.Dialect{
		New:        func(deps server.Deps) server.Dialect { return fusionauth.New(deps) },
		Spec:       api.GetSwagger,
		Credential: func(int) server.CredentialRequest { return server.CredentialRequest{} },
		Auth: func(_ testing.TB, _ string, m *server.MintedCredential) []string {
			return []string{"Authorization", m.Field("apiKey")}
		},
		Params: ids,
		Request: func(t testing.TB, base string, op servertest.Operation, _ *server.MintedCredential, headers []string, body string) *http.Request {
			if body == "" {
				body = `{"webhook":{"url":"https://example.com/h","connectTimeout":1000,"readTimeout":1000,"global":true,"eventsEnabled":{"user.create":true}}}`
			}
			return servertest.Request(t, op.Method, base+op.Path, body, headers...)
		},
		// 401, 404 and 429 have FusionAuth's empty body; the others its Errors object.
		Envelope: func(t testing.TB, status int, b []byte) {
			t.Helper()
			if len(b) == 0 {
				if status != 401 && status != 404 && status != 429 && status != 503 {
					t.Errorf("an empty %d", status)
				}
				return
			}
			var e api.Errors
			if err := json.Unmarshal(b, &e); err != nil || (e.GeneralErrors == nil && e.FieldErrors == nil) {
				t.Errorf("not FusionAuth's %d Errors: %s", status, b)
				return
			}
			if status == 413 && !reflect.DeepEqual(codes(t.(*testing.T), b), []string{"[tooLarge]"}) {
				t.Errorf("not FusionAuth's 413: %s", b)
			}
		},
		Unrouted: []dialecttest.Unrouted{
			{Method: "PATCH", Path: "/api/webhook", Status: 404, Response: "Unrouted"},
			{Method: "HEAD", Path: "/api/webhook/" + ids["webhookId"], Status: 404, Response: "Unrouted"},
			{Method: "GET", Path: "/api/webhook/", Status: 404, Response: "Unrouted"},
			{Method: "DELETE", Path: "/api/system/webhook-event-log/search", Status: 404, Response: "Unrouted"},
			{Method: "GET", Path: "/api/system/webhook-attempt-log", Status: 404, Response: "Unrouted"},
		},
		WrongLogin: func(t testing.TB, base string, _ *server.MintedCredential) *http.Request {
			return servertest.Request(t, "GET", base+"/api/webhook", "", "Authorization", "wrong")
		},
		LoginFailed: 401,
		// FusionAuth's webhooks are the tenants', not the keys': scoped to one tenant.
		Create: func(t testing.TB, base string, auth []string, _ *server.MintedCredential, target, native string) (*http.Request, string) {
			tenant := uuid.NewString()
			body := `{"webhook":{"url":"` + target + `","connectTimeout":1000,"readTimeout":2000,"global":false,"tenantIds":["` + tenant + `"],"eventsEnabled":{"` + native + `":true}}}`
			return servertest.Request(t, "POST", base+"/api/webhook", body, auth...), tenant
		},
		Created: 200,
		Invalid: 400,
		Golden: []dialecttest.Golden{{File: "testdata/delivery.golden.json", Message: delivery.Message{
			DeliveryID: "msg_1", EventID: "evt_1", EventName: "user.create", Tenant: "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80",
			OccurredAt: goldenAt, At: goldenAt, Data: json.RawMessage(`{"user":{"id":"u1","email":"ada@example.com"},"type":"ignored","big":12345678901234567890}`),
			Webhook: &store.Webhook{URL: "https://example.com"},
		}, Want: map[string]string{"Content-Type": "application/json", "X-FusionAuth-Signature-JWT": ""}}},
		Ingest: &dialecttest.Ingest{ID: true, Time: time.Millisecond, Tenant: true, Examples: []dialecttest.Example{{
			File: "testdata/ingest.user-create.json",
			Want: server.Inbound{
				ID: "e502168a-b469-45d9-a079-fd45f83e0406", Name: "user.create", Tenant: "e872a880-b14f-6d62-c312-cb40f22af465",
				OccurredAt: time.UnixMilli(1505762615056).UTC(),
				Data: json.RawMessage(`{"info":{"ipAddress":"42.42.42.42","userAgent":"Mozilla/5.0","location":{"city":"Denver","country":"US","region":"CO","latitude":39.77,"longitude":-104.91,"displayString":"Denver, CO, US"}},` +
					`"user":{"id":"00000000-0000-0001-0000-000000000000","email":"example@fusionauth.io","active":true,"verified":true,"usernameStatus":"ACTIVE","passwordChangeRequired":false,` +
					`"twoFactorEnabled":false,"registrations":[{"applicationId":"3c219e58-ed0e-4b18-ad48-f4f92793ae32","id":"00000000-0000-0002-0000-000000000000","roles":["user"],"insertInstant":1446064706250,"usernameStatus":"ACTIVE"}]}}`),
			},
		}}},
		Count: func(t testing.TB, base string, auth []string, _ *server.MintedCredential) int {
			resp, err := http.DefaultClient.Do(servertest.Request(t, "GET", base+"/api/webhook", "", auth...))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r struct{ Webhooks []json.RawMessage }
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
				t.Fatalf("list webhooks: %d %v", resp.StatusCode, err)
			}
			return len(r.Webhooks)
		},
		Shared: true,
	}
}

var goldenAt = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
