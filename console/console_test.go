package console_test

import (
	"context"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyhook/polyhook/console"
	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/gateway"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// TestServesEmbeddedFiles: the console is served from the binary at /console, with
// headers that keep the page to its own origin, and / leads there.
func TestServesEmbeddedFiles(t *testing.T) {
	srv := server.New(servertest.Logger(t))
	srv.Register(console.New())
	base := servertest.Serve(t, srv)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/", "/console"} {
		resp, err := noRedirect.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
			t.Errorf("GET %s: %d to %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for path, ctype := range map[string]string{
		"/console/": "text/html", "/console/app.js": "text/javascript", "/console/app.css": "text/css", "/console/icon.svg": "image/svg+xml",
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(b) == 0 {
			t.Errorf("GET %s: %d %q %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: headers %v", path, resp.Header)
		}
	}
	resp, err := http.Get(base + "/portal/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `data-mode="portal"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /portal/: %d %v", resp.StatusCode, resp.Header)
	}
	for _, path := range []string{"/console/nope.js", "/console/../main.go", "/console/%2e%2e/console.go", "/portal/nope.js"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
}

// TestNoOutsideReferences: nothing in the console points outside the gateway, so it works
// offline and leaks nothing to a CDN.
func TestNoOutsideReferences(t *testing.T) {
	err := fs.WalkDir(os.DirFS("static"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join("static", path))
		if err != nil {
			return err
		}
		text := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "")
		for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML", "localStorage"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// chromium finds Debian's chromium, or the one TEST_CHROMIUM names.
func chromium(t *testing.T) string {
	if p := os.Getenv("TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install chromium, or set TEST_CHROMIUM)")
	return ""
}

// artifacts is where the browser test leaves its screenshots: $TEST_ARTIFACTS/console
// when set (CI keeps that folder), else console/artifacts (ignored by git).
func artifacts(t *testing.T) string {
	dir := "artifacts"
	if a := os.Getenv("TEST_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "console")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowser drives the console and the tenant portal in headless Chromium against a
// gateway with every dialect, on SQLite and on PostgreSQL. In the console: a wrong token
// is refused, the right one signs in; a published event's delivery is seen failing against
// a receiver answering 500 and succeeding once the receiver is back and the operator
// retries; a native webhook is made, changed and its failed delivery retried in bulk from
// the deliveries page; a credential is minted and revoked and a webhook deleted, each
// after a confirmation. In a portal opened with a one-time link: the tenant makes a
// webhook, sees its delivery fail and retries it into success, and cannot open another
// tenant's webhook. Every page is reached by keyboard or link, checked with axe-core for
// serious and critical violations and for horizontal scrolling at 360 px, and screenshot
// at 360 and 1280 px.
func TestBrowser(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	browser := chromium(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) { browse(t, browser, db) })
}

func browse(t *testing.T, browser string, db *store.DB) {
	const token = "console-test-admin-token-0123456789"
	ctx := context.Background()
	keys, err := server.NewKeys("console-test-master-key")
	if err != nil {
		t.Fatal(err)
	}
	// The gateway logs until the browser run ends, not through its shutdown: so the
	// browser's failure is the last thing a failed run prints, where a log cut short to
	// its head and tail still shows it.
	var ended atomic.Bool
	defer ended.Store(true)
	log := slog.New(untilEnded{servertest.Logger(t).Handler(), &ended})
	deps := server.Deps{DB: db, Keys: keys, Log: log}
	// One attempt per delivery, so that a 500 fails it at once and the retry is the
	// operator's.
	engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log, MaxAttempts: 1, Sender: delivery.SenderOptions{AllowPrivateTargets: true}})
	if err != nil {
		t.Fatal(err)
	}
	// Another site embeds the portal in a frame: a page at localhost (the gateway is at
	// 127.0.0.1, another site) framing the link it is given.
	embed := strings.Replace(servertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!doctype html><html lang="en"><title>Embedder</title><h1>Our app</h1>`+
			`<iframe title="Webhooks portal" width="1000" height="700" src="`+html.EscapeString(r.URL.Query().Get("src"))+`"></iframe></html>`)
	})), "127.0.0.1", "localhost", 1)
	srv := gateway.New(gateway.Config{Deps: deps, Engine: engine, TokenHash: store.HashSecret(token), PortalOrigins: []string{embed}})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := engine.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = engine.Stop(stop)
	})
	base := servertest.Serve(t, srv)

	// The receiver answers 500 on each path until the test heals that path (GET
	// /control/heal?path=/hook). Until the test has seen the first delivery pending (GET
	// /control/release), it holds its answers, for 20 s at most.
	var healed sync.Map
	release := make(chan struct{})
	var releaseOnce sync.Once
	rcv := servertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/control/heal":
			healed.Store(r.URL.Query().Get("path"), true)
			return
		case "/control/release":
			releaseOnce.Do(func() { close(release) })
			return
		}
		if _, ok := healed.Load(r.URL.Path); ok {
			_, _ = io.WriteString(w, `{"received":true}`)
			return
		}
		select {
		case <-release:
		case <-time.After(20 * time.Second):
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "receiver is down")
	}))
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })

	// A FusionAuth webhook made through FusionAuth's own API, with basic auth whose
	// password the console must never show, and one webhook of each other dialect.
	fa, _ := srv.Dialect("fusionauth")
	m, err := fa.MintCredential(ctx, server.CredentialRequest{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(servertest.Request(t, "POST", base+"/api/webhook",
		`{"webhook":{"url":"`+rcv+`/hook","connectTimeout":1000,"readTimeout":30000,"description":"Game server","global":true,`+
			`"eventsEnabled":{"user.create":true},"httpAuthenticationUsername":"ops","httpAuthenticationPassword":"hunter2-basic-secret"}}`,
		"Authorization", m.Field("apiKey")))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create the FusionAuth webhook: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, w := range []*store.Webhook{
		{Dialect: "xsolla", Owner: "a1b2c3d4-0000-4000-8000-00000000000a", ExternalID: "x-1", URL: "https://xsolla.example.com/hook", Events: []string{"registration"}, Enabled: true},
		{Dialect: "nursa", Owner: "client-1", ExternalID: "n-1", URL: "https://nursa.example.com/hook", Events: []string{"all"}, Enabled: true},
		{Dialect: "authing", Owner: "pool-1", ExternalID: "au-1", URL: "https://authing.example.com/hook", Events: []string{"user:created"}, Enabled: true},
	} {
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		if w.Dialect == "authing" {
			if err := db.DisableWebhook(ctx, w.ID, "answered 410 Gone"); err != nil {
				t.Fatal(err)
			}
		}
	}

	dir := filepath.Join(artifacts(t), db.Backend())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := servertest.Node(t, filepath.Join("testdata", "browser"), "console.mjs",
		"BASE="+base, "TOKEN="+token, "RECEIVER="+rcv, "EMBED="+embed, "CHROMIUM="+browser,
		"ARTIFACTS="+dir, "SECRET=hunter2-basic-secret", "USER_DATA="+t.TempDir())
	t.Logf("browser: %s\nscreenshots in %s", out, dir)
}

// untilEnded passes records on until ended is set.
type untilEnded struct {
	slog.Handler
	ended *atomic.Bool
}

func (u untilEnded) Enabled(ctx context.Context, l slog.Level) bool {
	return !u.ended.Load() && u.Handler.Enabled(ctx, l)
}

func (u untilEnded) WithAttrs(as []slog.Attr) slog.Handler {
	return untilEnded{u.Handler.WithAttrs(as), u.ended}
}

func (u untilEnded) WithGroup(name string) slog.Handler {
	return untilEnded{u.Handler.WithGroup(name), u.ended}
}
