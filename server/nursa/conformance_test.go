package nursa_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/nursaapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
)

func tokenForm(id, secret string) string {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
}

const someID = "6a0e5a4e-3c0b-4f0e-9a55-0d7f4b1f7c11"

// conformance is the Nursa dialect as the conformance suite sees it.
func conformance() dialecttest.Dialect {
	return dialecttest.Dialect{
		New:        func(deps server.Deps) server.Dialect { return nursa.New(deps) },
		Spec:       api.GetSwagger,
		Credential: func(int) server.CredentialRequest { return server.CredentialRequest{} },
		Auth: func(t testing.TB, base string, m *server.MintedCredential) []string {
			resp, err := http.DefaultClient.Do(servertest.Request(t, "POST", base+"/oidc/oauth/token", tokenForm(m.Field("clientId"), m.Field("clientSecret")), "Content-Type", "application/x-www-form-urlencoded"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var tr api.TokenResponse
			if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 200 {
				t.Fatalf("token: %d %v", resp.StatusCode, err)
			}
			return []string{"Authorization", "Bearer " + tr.AccessToken}
		},
		Params: map[string]string{"webhookId": someID},
		Request: func(t testing.TB, base string, op servertest.Operation, m *server.MintedCredential, headers []string, body string) *http.Request {
			if strings.EqualFold(op.ID, "issueToken") {
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
				body = `{"url":"https://example.com/h","events":["all"]}`
			}
			return servertest.Request(t, op.Method, base+op.Path, body, headers...)
		},
		Envelope: func(t testing.TB, status int, b []byte) {
			t.Helper()
			if status == 429 { // HTML, as Nursa's
				if !strings.Contains(string(b), "429") {
					t.Errorf("not Nursa's 429 page: %s", b)
				}
				return
			}
			var e struct {
				Error      any `json:"error"`
				Message    any `json:"message"`
				StatusCode int `json:"statusCode"`
			}
			// Nest's {"message", "error"?, "statusCode"}, or the token endpoint's OAuth error.
			err := json.Unmarshal(b, &e)
			oauth := status == 401 && e.StatusCode == 0 && e.Error != nil
			if err != nil || (e.StatusCode != status && !oauth) || (e.Message == nil && !oauth) {
				t.Errorf("not Nursa's %d envelope: %s", status, b)
			}
		},
		Unrouted: []dialecttest.Unrouted{
			{Method: "PUT", Path: path, Status: 404, Response: "Unrouted"}, {Method: "DELETE", Path: path, Status: 404, Response: "Unrouted"}, {Method: "GET", Path: path + "/" + someID, Status: 404, Response: "Unrouted"},
			{Method: "GET", Path: "/api/v2/public/webhooks/facility?page=2", Status: 404, Response: "Unrouted"},
			{Method: "GET", Path: "/oidc/oauth/token", Status: 404, Response: "Unrouted"}, {Method: "GET", Path: "/oidc/.well-known/openid-configuration", Status: 404, Response: "Unrouted"},
		},
		WrongLogin: func(t testing.TB, base string, m *server.MintedCredential) *http.Request {
			return servertest.Request(t, "POST", base+"/oidc/oauth/token", tokenForm(m.Field("clientId"), "wrong"), "Content-Type", "application/x-www-form-urlencoded")
		},
		LoginFailed: 401,
		Create: func(t testing.TB, base string, auth []string, m *server.MintedCredential, target, native string) (*http.Request, string) {
			return servertest.Request(t, "POST", base+path, `{"url":"`+target+`","events":["`+native+`"]}`, auth...), m.Field("clientId")
		},
		Created: 201,
		Invalid: 400,
		Golden: []dialecttest.Golden{{File: "testdata/delivery.golden.json", Message: delivery.Message{
			DeliveryID: "msg_1", EventID: "evt_1", EventName: "facility.user-connection.accepted", OccurredAt: goldenAt, At: goldenAt,
			Data:    json.RawMessage(`{"facilityId":"NUR-123456","userId":"lcFQMy1n0decDeZljQG2wUNZBru7"}`),
			Webhook: &store.Webhook{URL: "https://example.com", Secrets: []string{"sDV1aKqitCLClI12m7UPFbAAvZfZquJw", "mryefgHPBVHJwux0o3BYW7hPM0BZlcCa"}},
		}, Headers: map[string]string{"Nursa-Signature": "testdata/delivery.golden.signature"}}},
		Ingest: &dialecttest.Ingest{Signs: true, SignsBody: true, Examples: []dialecttest.Example{{
			File: "testdata/ingest.user-connection.json",
			Want: server.Inbound{Name: "facility.user-connection.accepted", Data: json.RawMessage(`{"facilityId":"NUR-123456","userId":"lcFQMy1n0decDeZljQG2wUNZBru7"}`)},
		}, {
			File: "testdata/ingest.shift-created.json",
			Want: server.Inbound{Name: "shift.created", OccurredAt: time.Date(2024, 9, 13, 0, 0, 0, 0, time.UTC),
				Data: json.RawMessage(`{"shiftId":"12120878","facilityId":"NUR-123456","from":"2024-01-01T14:00:00.000Z","to":"2024-01-01T17:00:00.000Z","at":"2024-09-13T00:00:00.000Z",` +
					`"description":"CNA Shift","licenseType":"CNA","breakTime":"PT15M","autoScheduleSettings":{"enabled":true,"enabledOrigins":["Favorites","Screenings"]},"createdBy":{"userId":"u-1","email":"john@doe.com"}}`)},
		}}},
		Count: func(t testing.TB, base string, auth []string, _ *server.MintedCredential) int {
			resp, err := http.DefaultClient.Do(servertest.Request(t, "GET", base+path, "", auth...))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var list struct{ Data []json.RawMessage }
			if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != 200 {
				t.Fatalf("list webhooks: %d %v", resp.StatusCode, err)
			}
			return len(list.Data)
		},
	}
}

// The token endpoint reads JSON bodies too: an endless one is cut off at the limit as a
// form is (it used to be read whole).
func TestEndlessJSONToken(t *testing.T) {
	g := start(t, nil)
	status, b, sent := servertest.Endless(t, servertest.Request(t, "POST", g.url+"/oidc/oauth/token", "", "Content-Type", "application/json"))
	if status != 413 || decodeErr(t, b).StatusCode != 413 || sent > 32<<20 {
		t.Errorf("an endless JSON token request: %d %s after %d bytes", status, b, sent)
	}
}

var goldenAt = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
