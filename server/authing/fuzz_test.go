package authing_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/gateway"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/authing"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// FuzzRequest sends arbitrary bodies and authorization headers (the signature parser's
// input): never a 5xx or a panic, always Authing's envelope, and a rejected request
// changes nothing stored.
func FuzzRequest(f *testing.F) {
	ops := []struct{ method, path string }{
		{"POST", "create-webhook"}, {"POST", "update-webhook"}, {"POST", "delete-webhook"}, {"POST", "get-webhook-logs"},
		{"POST", "trigger-webhook"}, {"GET", "list-webhooks?page=x"}, {"GET", "get-webhook?webhookId=x"},
		{"GET", "get-webhook-event-list"}, {"POST", "get-management-token"},
	}
	for _, s := range []struct {
		op         uint8
		body, auth string
	}{
		{0, `{"name":"n","url":"https://e.com","events":["login"],"contentType":"application/json"}`, ""},
		{1, `{"webhookId":"x","retryConfig":{"enabled":"yes"}}`, ""},
		{2, `{"webhookIds":[1,null]}`, ""},
		{3, `{"webhookId":"x","page":-1}`, ""},
		{4, `{"webhookId":"x","requestHeaders":{"a\nb":"c"}}`, ""},
		{0, `{"a":{"b":[1,{"c":"\u0000"}]}}`, "authing abc:def"},
		{5, ``, "authing :"}, {0, `[`, "authing x"}, {6, ``, "Bearer a.b.c"}, {8, `{"accessKeyId":1}`, ""},
		// Over the body limit, announced (even length) and not (odd length).
		{0, strings.Repeat("a", servertest.FuzzBodyLimit+2), ""}, {8, strings.Repeat("a", servertest.FuzzBodyLimit+1), ""},
	} {
		f.Add(s.op, s.body, s.auth)
	}
	for i, b := range dialecttest.FuzzBodies() { // the bodies every dialect is fuzzed with
		f.Add(uint8(i), b, "")
	}
	db := storetest.Open(f)
	keys, _ := server.NewKeys("authing-fuzz-master-key")
	quiet := slog.New(slog.DiscardHandler)
	// Private targets allowed: the fuzzer's URLs are refused for their shape, not their host.
	engine, err := delivery.New(drivers.For(db), delivery.Config{Log: quiet, Sender: delivery.SenderOptions{AllowPrivateTargets: true}})
	if err != nil {
		f.Fatal(err)
	}
	srv := gateway.New(gateway.Config{Deps: server.Deps{DB: db, Keys: keys, Log: quiet, MaxBodyBytes: servertest.FuzzBodyLimit}, Engine: engine})
	d, _ := srv.Dialect(authing.Name)
	m, err := d.MintCredential(context.Background(), server.CredentialRequest{})
	if err != nil {
		f.Fatal(err)
	}
	tok, _ := keys.IssueToken(authing.Name, m.Field("accessKeyId"), time.Hour, map[string]any{"pool": m.Field("userPoolId")})
	f.Fuzz(func(t *testing.T, which uint8, body, auth string) {
		_, n0, _ := db.FindWebhooks(context.Background(), store.WebhookFilter{})
		op := ops[int(which)%len(ops)]
		req := servertest.FuzzRequest(op.method, "/api/v3/"+op.path, body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Date", time.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"))
		req.Header.Set("X-Authing-Signature-Method", "HMAC-SHA1")
		req.Header.Set("X-Authing-Signature-Version", "1.0")
		req.Header.Set("X-Authing-Signature-Nonce", "n")
		if auth == "" {
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("X-Authing-Userpool-Id", m.Field("userPoolId"))
		} else if !strings.ContainsAny(auth, "\r\n") {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q %q: %d %s", op, body, auth, rec.Code, rec.Body)
		}
		if !strings.Contains(rec.Body.String(), `"statusCode"`) {
			t.Fatalf("not an Authing envelope: %d %s", rec.Code, rec.Body)
		}
		if _, n1, _ := db.FindWebhooks(context.Background(), store.WebhookFilter{}); !strings.Contains(rec.Body.String(), `"statusCode":200`) && n0 != n1 {
			t.Fatalf("rejected %s %q changed the store", op, body)
		}
	})
}
