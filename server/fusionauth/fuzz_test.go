package fusionauth_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// FuzzRequest sends arbitrary bodies to the create, replace, patch and search handlers.
// Whatever the input: no 5xx, no panic, and a rejected request leaves the stored webhooks
// exactly as they were. "go test" runs the seeds below; "go test -fuzz FuzzRequest" explores.
func FuzzRequest(f *testing.F) {
	seeds := []string{
		fullBody,
		`{"webhook":{"url":"https://x.example","connectTimeout":1,"readTimeout":1}}`,
		`{"webhook":{"url":"https://x.example","connectTimeout":2147483648,"readTimeout":1}}`,
		`{"webhook":{"description":null,"tenantIds":["7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80"]}}`,
		`{"webhook":{"eventsEnabled":{"user.create":"yes"}}}`,
		`{"webhook":{"data":{"a":{"b":[1,2,{"c":null}]}},"headers":{"":""}}}`,
		`[{"op":"replace","path":"/webhook/url","value":"https://y.example"}]`,
		`[{"op":"copy","from":"/webhook","path":"/webhook/data/x"}]`,
		`[{"op":"move","from":"/webhook/url","path":"/webhook/description"}]`,
		`{"search":{"url":"*","numberOfResults":-1,"orderBy":"url DESC, id"}}`,
		`{"webhook":"x"}`, `null`, `[]`, `{`, "\x00", `{"webhook":{"url":"http://[::1"}}`,
		// Over the body limit, announced (even length) and not (odd length).
		`{"webhook":{"description":"` + strings.Repeat("a", servertest.FuzzBodyLimit) + `"}}`,
		`{"webhook":{"description":"` + strings.Repeat("a", servertest.FuzzBodyLimit+1) + `"}}`,
	}
	for i, s := range append(seeds, dialecttest.FuzzBodies()...) {
		f.Add(uint8(i), s)
	}
	db := storetest.Open(f)
	keys, _ := server.NewKeys("fusionauth-fuzz-master-key")
	// Logging through f is not allowed inside the fuzz target; the status checks below
	// catch what a log would show.
	quiet := slog.New(slog.DiscardHandler)
	d := fusionauth.New(server.Deps{DB: db, Keys: keys, Log: quiet})
	srv := server.New(quiet)
	srv.MaxBodyBytes = servertest.FuzzBodyLimit
	srv.Register(d)
	m, err := d.MintCredential(context.Background(), server.CredentialRequest{})
	if err != nil {
		f.Fatal(err)
	}
	const id = "00000000-0000-4000-8000-0000000000f1"
	seed := httptest.NewRecorder()
	srv.ServeHTTP(seed, authed(http.MethodPost, "/api/webhook/"+id, "application/json", seeds[1], m.Field("apiKey")))
	if seed.Code != 200 {
		f.Fatalf("seed webhook: %d %s", seed.Code, seed.Body)
	}
	targets := []struct{ method, path, contentType string }{
		{http.MethodPost, "/api/webhook", "application/json"},
		{http.MethodPut, "/api/webhook/" + id, "application/json"},
		{http.MethodPatch, "/api/webhook/" + id, "application/json"},
		{http.MethodPatch, "/api/webhook/" + id, "application/merge-patch+json"},
		{http.MethodPatch, "/api/webhook/" + id, "application/json-patch+json"},
		{http.MethodPost, "/api/webhook/search", "application/json"},
	}
	key := store.WebhookKey{Dialect: fusionauth.Name, ExternalID: id}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		target := targets[int(which)%len(targets)]
		before, _ := db.GetWebhook(context.Background(), key)
		_, countBefore, _ := db.FindWebhooks(context.Background(), store.WebhookFilter{})
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, authed(target.method, target.path, target.contentType, body, m.Field("apiKey")))
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", target.method, target.path, body, rec.Code, rec.Body)
		}
		if rec.Code == 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("400 without FusionAuth's Errors body: %q", rec.Body)
		}
		if rec.Code != 200 {
			after, _ := db.GetWebhook(context.Background(), key)
			_, countAfter, _ := db.FindWebhooks(context.Background(), store.WebhookFilter{})
			if !reflect.DeepEqual(before, after) || countBefore != countAfter {
				t.Fatalf("rejected %s %s %q changed the store", target.method, target.path, body)
			}
		}
	})
}

func authed(method, path, contentType, body, key string) *http.Request {
	req := servertest.FuzzRequest(method, path, body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", key)
	return req
}
