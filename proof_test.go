package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/gateway"
	polyhookapi "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
)

// acmeConformance is acme as the conformance suite sees it.
func acmeConformance() dialecttest.Dialect {
	send := func(t testing.TB, req *http.Request) (int, []byte) {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	return dialecttest.Dialect{
		New:        func(deps server.Deps) server.Dialect { return newAcme(deps) },
		Spec:       acmeSpec,
		Credential: func(int) server.CredentialRequest { return server.CredentialRequest{} },
		Auth: func(_ testing.TB, _ string, m *server.MintedCredential) []string {
			return []string{"Authorization", "Bearer " + m.Field("apiKey")}
		},
		Request: func(t testing.TB, base string, op servertest.Operation, _ *server.MintedCredential, headers []string, body string) *http.Request {
			if body == "" {
				body = `{"url":"https://example.com/h","topics":["user.signup"]}`
			}
			return servertest.Request(t, op.Method, base+op.Path, body, headers...)
		},
		Envelope: func(t testing.TB, status int, b []byte) {
			t.Helper()
			var e struct{ Error string }
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
				t.Errorf("not acme's %d envelope: %s", status, b)
			}
		},
		Unrouted: []dialecttest.Unrouted{
			{Method: "PUT", Path: "/acme/v1/hooks", Status: 405, Response: "Unrouted"},
			{Method: "GET", Path: "/acme/v1/things", Status: 404, Response: "Unrouted"},
		},
		WrongLogin: func(t testing.TB, base string, _ *server.MintedCredential) *http.Request {
			return servertest.Request(t, "GET", base+"/acme/v1/hooks", "", "Authorization", "Bearer wrong")
		},
		LoginFailed: 401,
		Create: func(t testing.TB, base string, auth []string, m *server.MintedCredential, url, native string) (*http.Request, string) {
			return servertest.Request(t, "POST", base+"/acme/v1/hooks", `{"url":"`+url+`","topics":["`+native+`"]}`, auth...), m.Credential.ID
		},
		Created: 201,
		Invalid: 400,
		Golden: []dialecttest.Golden{{File: "testdata/acme.delivery.golden.json", Message: delivery.Message{
			DeliveryID: "msg_1", EventID: "evt_1", EventName: "user.signup", OccurredAt: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC),
			Data: json.RawMessage(`{"id":"u-1"}`), Webhook: &store.Webhook{Secrets: []string{"s"}},
		}, Want: map[string]string{"Acme-Secret": "s"}}},
		Count: func(t testing.TB, base string, auth []string, _ *server.MintedCredential) int {
			status, b := send(t, servertest.Request(t, "GET", base+"/acme/v1/hooks", "", auth...))
			var r struct{ Hooks []json.RawMessage }
			if status != 200 || json.Unmarshal(b, &r) != nil {
				t.Fatalf("list hooks: %d %s", status, b)
			}
			return len(r.Hooks)
		},
	}
}

// The proof of the seam: a dialect built from the public seam alone (acme_test.go) passes
// the conformance suite.
func TestAcmeConformance(t *testing.T) {
	dialecttest.Run(t, acmeConformance())
}

// ...and, added to the one list, is served by the gateway, minted for, delivered
// canonical events published on /v1, shown in every native view and in the generated
// catalogue page, with no change to store/, delivery/ or server/native.
func TestAcmeThroughTheGateway(t *testing.T) {
	saved := registered
	registered = append(gateway.Registered(), gateway.Of(newAcme))
	t.Cleanup(func() { registered = saved })

	// The CLI offers the dialect the list gained, in its enum and its help.
	if out, err := runOut("credentials", "create", "--help"); err != nil || !strings.Contains(out, "nursa, authing or "+acmeName+".") {
		t.Errorf("credentials create --help does not offer %s: %v\n%s", acmeName, err, out)
	}
	if out, err := runOut("credentials", "create", "--dialect", acmeName, "--url", "http://127.0.0.1:1", "--token", "x"); err != nil && strings.Contains(err.Error(), "must be one of") {
		t.Errorf("--dialect %s refused by the CLI: %v\n%s", acmeName, err, out)
	}

	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	defer rcv.Close()

	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", addr, "--db", t.TempDir() + "/acme.db", "--admin-token", "acme-admin-token-for-tests-0123456789", "--allow-private-targets"}, &logs, &logs)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not start:\n%s", logs.String())
		}
	}
	spec, err := polyhookapi.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	native := servertest.NewContract(t, spec, base)
	admin := func(method, path, body string) []byte {
		t.Helper()
		resp, b := native.Do(t, servertest.Request(t, method, base+path, body, "Authorization", "Bearer acme-admin-token-for-tests-0123456789"))
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}

	// The console's dialect pickers are filled from GET /v1/dialects: the new one is there.
	var listed struct{ Dialects []struct{ Name string } }
	if err := json.Unmarshal(admin("GET", "/v1/dialects", ""), &listed); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(listed.Dialects, func(d struct{ Name string }) bool { return d.Name == acmeName }) {
		t.Errorf("GET /v1/dialects, which the console reads, lacks %s: %+v", acmeName, listed.Dialects)
	}

	// A credential of the new dialect, in the native API's answer (which the spec allows).
	var cred struct {
		ID, Dialect string
		APIKey      string `json:"apiKey"`
	}
	if err := json.Unmarshal(admin("POST", "/v1/credentials", `{"dialect":"acme","name":"proof"}`), &cred); err != nil || cred.Dialect != "acme" || cred.APIKey == "" {
		t.Fatalf("minted %+v, %v", cred, err)
	}
	if b := admin("GET", "/v1/credentials?dialect=acme", ""); !strings.Contains(string(b), cred.ID) {
		t.Errorf("/v1/credentials?dialect=acme: %s", b)
	}

	// A hook made through acme's own API receives a canonical event under acme's name.
	req := servertest.Request(t, "POST", base+"/acme/v1/hooks", `{"url":"`+rcv.URL+`/acme","topics":["user.signup"]}`, "Authorization", "Bearer "+cred.APIKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create hook: %v %v", resp, err)
	}
	var ev struct{ ID string }
	if err := json.Unmarshal(admin("POST", "/v1/events", `{"type":"user.created","tenant":"`+cred.ID+`","data":{"id":"u-1"}}`), &ev); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the canonical event never reached the acme hook")
		}
	}
	mu.Lock()
	var body struct {
		Topic string
		Data  map[string]any
	}
	if err := json.Unmarshal(bodies[0], &body); err != nil || body.Topic != "user.signup" || body.Data["id"] != "u-1" || got[0].Header.Get("Acme-Secret") == "" || got[0].Header.Get("webhook-signature") == "" {
		t.Errorf("delivered %s with %v", bodies[0], got[0].Header)
	}
	mu.Unlock()

	// The native views know the dialect: its webhooks, its deliveries (with the secret
	// header redacted), its column of the catalogue.
	var hooks struct {
		Total    int
		Webhooks []struct{ Dialect string }
	}
	if err := json.Unmarshal(admin("GET", "/v1/webhooks?dialect=acme", ""), &hooks); err != nil || hooks.Total != 1 || hooks.Webhooks[0].Dialect != "acme" {
		t.Errorf("/v1/webhooks?dialect=acme: %+v %v", hooks, err)
	}
	var ds struct {
		Deliveries []struct{ ID, EventName string }
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := json.Unmarshal(admin("GET", "/v1/deliveries?dialect=acme&status=succeeded", ""), &ds); err != nil {
			t.Fatal(err)
		}
		if len(ds.Deliveries) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(ds.Deliveries) != 1 || ds.Deliveries[0].EventName != "user.signup" {
		t.Fatalf("/v1/deliveries?dialect=acme: %+v", ds)
	}
	var detail struct {
		AttemptList []struct{ RequestHeaders map[string]string }
	}
	if err := json.Unmarshal(admin("GET", "/v1/deliveries/"+ds.Deliveries[0].ID, ""), &detail); err != nil || len(detail.AttemptList) != 1 || detail.AttemptList[0].RequestHeaders["Acme-Secret"] != "[redacted]" {
		t.Errorf("the attempt's headers: %+v %v", detail, err)
	}
	var types struct {
		EventTypes []struct {
			Type  string
			Names map[string][]string
		}
	}
	if err := json.Unmarshal(admin("GET", "/v1/event-types", ""), &types); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, et := range types.EventTypes {
		if et.Type == "user.created" {
			found = strings.Join(et.Names["acme"], ",") == "user.signup"
		}
	}
	if !found {
		t.Errorf("/v1/event-types lacks acme's name for user.created: %+v", types)
	}
	// acme's own event, published as acme:invoice.paid, is accepted too.
	admin("POST", "/v1/events", `{"type":"acme:invoice.paid","tenant":"`+cred.ID+`"}`)

	// The generated catalogue page has acme's column.
	table := catalogueTable(dialects(server.Deps{}))
	if !strings.Contains(table, "| acme | meaning |") || !strings.Contains(table, "`user.signup`") {
		t.Errorf("the catalogue page lacks acme:\n%s", table)
	}
}
