package nursa_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// FuzzRequest sends arbitrary bodies to create, update and the token endpoint: never a
// 5xx or a panic, and a rejected request leaves the stored webhooks as they were.
func FuzzRequest(f *testing.F) {
	for i, s := range []string{
		`{"url":"https://example.com","events":["all"]}`,
		`{"url":"https://example.com","events":["all"],"secrets":["a","b"]}`,
		`{"events":["facility.creation.accepted"],"url":null,"secrets":null}`,
		`{"url":"https://[::1]:99999","events":[1,2]}`, `{"events":{}}`, `[]`, `null`, `{`, "\xff",
		`grant_type=client_credentials&client_id=x&client_secret=y`, `grant_type=%zz`,
		// Over the body limit, announced (even length) and not (odd length).
		strings.Repeat("a", servertest.FuzzBodyLimit+2), strings.Repeat("a", servertest.FuzzBodyLimit+1),
	} {
		f.Add(uint8(i), s)
	}
	for i, b := range dialecttest.FuzzBodies() { // the bodies every dialect is fuzzed with
		f.Add(uint8(i), b)
	}
	db := storetest.Open(f)
	keys, _ := server.NewKeys("nursa-fuzz-master-key")
	quiet := slog.New(slog.DiscardHandler)
	d := nursa.New(server.Deps{DB: db, Keys: keys, Log: quiet})
	srv := server.New(quiet)
	srv.MaxBodyBytes = servertest.FuzzBodyLimit
	srv.Register(d)
	m, err := d.MintCredential(context.Background(), server.CredentialRequest{})
	if err != nil {
		f.Fatal(err)
	}
	token, _ := keys.IssueToken(nursa.Name, m.Field("clientId"), 3600e9, nil)
	w := &store.Webhook{Dialect: nursa.Name, Owner: m.Field("clientId"), ExternalID: "6f1c2d3e-0000-4000-8000-000000000001", URL: "https://example.com", Events: []string{"all"}, Enabled: true}
	if err := db.CreateWebhook(context.Background(), w); err != nil {
		f.Fatal(err)
	}
	key := store.WebhookKey{Dialect: nursa.Name, Owner: m.Field("clientId"), ExternalID: w.ExternalID}
	targets := []struct{ method, path, ct string }{
		{"POST", "/api/v2/public/webhooks/user", "application/json"},
		{"PATCH", "/api/v2/public/webhooks/user/" + w.ExternalID, "application/json"},
		{"POST", "/oidc/oauth/token", "application/x-www-form-urlencoded"},
		{"POST", "/oidc/oauth/token", "application/json"},
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		tg := targets[int(which)%len(targets)]
		before, _ := db.GetWebhook(context.Background(), key)
		_, n0, _ := db.FindWebhooks(context.Background(), store.WebhookFilter{})
		req := servertest.FuzzRequest(tg.method, tg.path, body)
		req.Header.Set("Content-Type", tg.ct)
		req.Header.Set("Authorization", "Bearer "+token)
		if tg.path == "/oidc/oauth/token" {
			req.Header.Del("Authorization")
			if _, err := url.ParseQuery(body); err == nil && which%7 == 0 {
				req.SetBasicAuth(m.Field("clientId"), m.Field("clientSecret"))
			}
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", tg.method, tg.path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			after, _ := db.GetWebhook(context.Background(), key)
			_, n1, _ := db.FindWebhooks(context.Background(), store.WebhookFilter{})
			if !reflect.DeepEqual(before, after) || n0 != n1 {
				t.Fatalf("rejected %s %q changed the store", tg.path, body)
			}
		}
		if rec.Code == http.StatusBadRequest && !strings.Contains(rec.Body.String(), "statusCode") && !strings.Contains(rec.Body.String(), "error") {
			t.Fatalf("400 without Nursa's envelope: %s", rec.Body)
		}
	})
}
