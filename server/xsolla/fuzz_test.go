package xsolla_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/dialecttest"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/server/xsolla"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// FuzzRequest sends arbitrary bodies and path segments: never a 5xx, always Xsolla's
// envelope on errors, and a rejected request stores nothing.
func FuzzRequest(f *testing.F) {
	for _, s := range [][2]string{
		{"registration", `{"url":"https://example.com"}`}, {"authorization", `{"url":null}`},
		{"nope", `{}`}, {"registration", `[]`}, {"registration", `{"url":"http://[::1"}`},
		{"registration/1", ``}, {"registration", "\x00"}, {"token", "grant_type=client_credentials&client_id=1"},
		// Over the body limit, announced (even length) and not (odd length).
		{"registration", strings.Repeat("a", servertest.FuzzBodyLimit+2)}, {"token", strings.Repeat("a", servertest.FuzzBodyLimit+1)},
	} {
		f.Add(s[0], s[1])
	}
	for _, b := range dialecttest.FuzzBodies() { // the bodies every dialect is fuzzed with
		f.Add("registration", b)
		f.Add("token", b)
	}
	db := storetest.Open(f)
	keys, _ := server.NewKeys("xsolla-fuzz-master-key")
	quiet := slog.New(slog.DiscardHandler)
	d := xsolla.New(server.Deps{DB: db, Keys: keys, Log: quiet})
	srv := server.New(quiet)
	srv.MaxBodyBytes = servertest.FuzzBodyLimit
	srv.Register(d)
	m, err := d.MintCredential(context.Background(), projectsRequest([]string{projectA}))
	if err != nil {
		f.Fatal(err)
	}
	tok, _ := keys.IssueToken(xsolla.Name, m.Field("clientId"), time.Hour, nil)
	f.Fuzz(func(t *testing.T, event, body string) {
		_, n0, _ := db.FindWebhooks(context.Background(), store.WebhookFilter{})
		path := hooks(projectA, event)
		method, ct := "POST", "application/json"
		switch {
		case event == "token":
			path, ct = "/api/oauth2/token", "application/x-www-form-urlencoded"
		case strings.Contains(event, "/"):
			method = "DELETE"
		}
		req := servertest.FuzzRequest(method, "http://x"+escapePath(path), body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-SERVER-AUTHORIZATION", tok)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error":{`) {
			t.Fatalf("%d without Xsolla's envelope: %s", rec.Code, rec.Body)
		}
		if _, n1, _ := db.FindWebhooks(context.Background(), store.WebhookFilter{}); rec.Code >= 400 && n0 != n1 {
			t.Fatalf("rejected %q stored a webhook", body)
		}
	})
}

// escapePath keeps fuzzed path segments a valid request target.
func escapePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("?#%", r) {
			b.WriteString("_")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
