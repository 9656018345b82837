package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// openGatewayStore opens the database a gateway in the test runs on, with that gateway's
// keys: the master key it generated and kept there seals its webhook secrets.
func openGatewayStore(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := server.LoadKeys(context.Background(), db, ""); err != nil {
		t.Fatal(err)
	}
	return db
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeAndCLI runs the gateway as "polyhook serve" does, mints credentials through
// the native API and the command line, and uses them: what the README tells a new user
// to do.
func TestServeAndCLI(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "polyhook.db")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	t.Setenv("POLYHOOK_ADMIN_TOKEN", "")
	go func() { done <- run(ctx, []string{"--addr", addr, "--db", dbPath}, &stdout, &stderr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/v1/webhooks")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not start: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	token := regexp.MustCompile(`phk_[A-Za-z0-9_-]+`).FindString(stdout.String())
	if token == "" {
		t.Fatalf("no admin token printed on first start: %q", stdout.String())
	}
	if strings.Contains(stderr.String(), token) {
		t.Error("the admin token appears in the logs")
	}

	// Mint through the API.
	req, _ := http.NewRequest("POST", base+"/v1/credentials", strings.NewReader(`{"dialect":"fusionauth"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("mint through the API: %v %v", resp, err)
	}
	var apiCred struct{ APIKey string }
	_ = json.NewDecoder(resp.Body).Decode(&apiCred)
	resp.Body.Close()

	// Mint through the command line: through the gateway, and offline on its database.
	var cliOut, cliErr syncBuffer
	if err := run(context.Background(), []string{"credentials", "create", "--dialect", "fusionauth", "--url", base, "--token", token, "--name", "cli", "-o", "json"}, &cliOut, &cliErr); err != nil {
		t.Fatalf("credentials create: %v\n%s", err, cliErr.String())
	}
	var cliCred struct{ APIKey string }
	if err := json.Unmarshal([]byte(cliOut.String()), &cliCred); err != nil || cliCred.APIKey == "" {
		t.Fatalf("credentials create printed %q", cliOut.String())
	}
	cliOut = syncBuffer{}
	if err := run(context.Background(), []string{"-o", "json", "credentials", "create", "--offline", "--dialect", "fusionauth", "--db", dbPath, "--name", "offline"}, &cliOut, &cliErr); err != nil {
		t.Fatalf("credentials create --offline: %v\n%s", err, cliErr.String())
	}
	var offCred struct{ APIKey string }
	if err := json.Unmarshal([]byte(cliOut.String()), &offCred); err != nil || offCred.APIKey == "" {
		t.Fatalf("credentials create --offline printed %q", cliOut.String())
	}

	for _, key := range []string{apiCred.APIKey, cliCred.APIKey, offCred.APIKey} {
		req, _ := http.NewRequest("POST", base+"/api/webhook", strings.NewReader(`{"webhook":{"url":"https://example.com/cli","connectTimeout":1000,"readTimeout":2000}}`))
		req.Header.Set("Authorization", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("create a webhook with a minted key: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	if strings.Contains(stderr.String(), apiCred.APIKey) || strings.Contains(stderr.String(), cliCred.APIKey) {
		t.Error("an API key appears in the logs")
	}

	// list and revoke from the command line, the token from the environment.
	t.Setenv("POLYHOOK_ADMIN_TOKEN", token)
	t.Setenv("POLYHOOK_URL", base)
	cliOut = syncBuffer{}
	if err := run(context.Background(), []string{"credentials", "list"}, &cliOut, &cliErr); err != nil || strings.Count(cliOut.String(), "fusionauth") != 3 {
		t.Fatalf("credentials list: %v %q", err, cliOut.String())
	}
	if strings.Contains(cliOut.String(), cliCred.APIKey) {
		t.Error("credentials list shows a secret")
	}
	cliOut = syncBuffer{}
	if err := run(context.Background(), []string{"credentials", "list", "-o", "json"}, &cliOut, &cliErr); err != nil {
		t.Fatal(err)
	}
	var listed struct{ Credentials []struct{ ID, Name string } }
	if err := json.Unmarshal([]byte(cliOut.String()), &listed); err != nil || len(listed.Credentials) != 3 {
		t.Errorf("credentials list -o json: %v %q", err, cliOut.String())
	}
	err = run(context.Background(), []string{"credentials", "create", "--dialect", "mailchimp"}, &cliOut, &cliErr)
	if exitCode(err) != 2 {
		t.Errorf("credentials create with an unknown dialect: %v (exit %d, want 2)", err, exitCode(err))
	}
	if err := run(context.Background(), []string{"credentials", "revoke", "nope"}, &cliOut, &cliErr); exitCode(err) != 1 || !strings.Contains(err.Error(), "not found") {
		t.Errorf("credentials revoke nope: %v (exit %d, want 1)", err, exitCode(err))
	}

	// publish from the command line, through the gateway.
	cliOut = syncBuffer{}
	if err := run(context.Background(), []string{"publish", "--type", "fusionauth:user.create", "--id", "cli-1", "--data", `{"user":{"id":"u"}}`}, &cliOut, &cliErr); err != nil {
		t.Fatalf("publish: %v %s", err, cliErr.String())
	}
	if !strings.Contains(cliOut.String(), "published cli-1: 0 deliveries") {
		t.Errorf("publish printed %q (the webhooks subscribe to nothing)", cliOut.String())
	}
	cliOut = syncBuffer{}
	if err := run(context.Background(), []string{"publish", "--type", "fusionauth:user.create", "--id", "cli-1"}, &cliOut, &cliErr); err != nil || !strings.Contains(cliOut.String(), "already published cli-1") {
		t.Errorf("publish again: %v %q", err, cliOut.String())
	}
	if err := run(context.Background(), []string{"publish", "--type", "nope"}, &cliOut, &cliErr); exitCode(err) != 1 {
		t.Errorf("publish accepted an unknown type: %v", err)
	}
	if err := run(context.Background(), []string{"publish", "--type", "user.created", "--token", "wrong"}, &cliOut, &cliErr); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("publish with a wrong token: %v", err)
	}
}

func TestSecondStartKeepsTheToken(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "polyhook.db")
	for i := 0; i < 2; i++ {
		addr := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--addr", addr, "--db", dbPath, "--admin-token", ""}, &stdout, &stderr)
		}()
		for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(50 * time.Millisecond) {
			if strings.Contains(stderr.String(), "listening") {
				break
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		printed := strings.Contains(stdout.String(), "Admin token")
		if printed != (i == 0) {
			t.Errorf("start %d: token printed = %v, want only on the first start", i+1, printed)
		}
	}
}

// A gateway whose master key is generated and kept in its own database warns at start,
// without showing the key; one started on that database with another key refuses to start
// and says why, rather than failing every delivery; one given its key does not warn.
func TestMasterKey_WarnAndRefuseAnother(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "polyhook.db")
	serveOnce := func(args ...string) (string, error) {
		t.Helper()
		addr := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var stdout, stderr syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, append([]string{"serve", "--addr", addr, "--db", dbPath, "--admin-token", "admin-token-for-tests-0123456789abc"}, args...), &stdout, &stderr)
		}()
		for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(50 * time.Millisecond) {
			if strings.Contains(stderr.String(), "listening") {
				break
			}
			select {
			case err := <-done:
				return stderr.String(), err
			default:
			}
		}
		cancel()
		return stderr.String(), <-done
	}
	t.Setenv("POLYHOOK_SECRET_KEY", "")
	logs, err := serveOnce()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "master key was generated and is kept in the database") {
		t.Errorf("no warning about the master key kept in the database:\n%s", logs)
	}
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	master, err := db.Setting(context.Background(), "master_key")
	db.Close()
	if err != nil || master == "" {
		t.Fatalf("stored master key: %v", err)
	}
	if strings.Contains(logs, master) {
		t.Error("the warning shows the master key")
	}

	if _, err := serveOnce("--secret-key", "another-master-key-entirely"); err == nil || !strings.Contains(err.Error(), "POLYHOOK_SECRET_KEY") {
		t.Errorf("start with another master key: %v", err)
	}
	// With "=": the key is random base64url, and one in 64 starts with "-", which a flag
	// parser reads as another flag when the value is a separate argument.
	logs, err = serveOnce("--secret-key=" + master)
	if err != nil {
		t.Fatalf("start with the stored key given: %v", err)
	}
	if strings.Contains(logs, "kept in the database") {
		t.Errorf("warned with the key given:\n%s", logs)
	}
}

// The gateway checks webhook URLs against the very policy it delivers under: without
// --allow-private-targets a loopback URL is refused at creation, in FusionAuth's own
// validation error; with the address in --allow-targets it is accepted.
func TestWebhookURLsFollowTheDeliveryPolicy(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "polyhook.db")
	create := func(args ...string) int {
		t.Helper()
		addr := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, append([]string{"serve", "--addr", addr, "--db", dbPath, "--admin-token", "admin-token-for-tests-0123456789abc", "--secret-key", "master-key-for-tests"}, args...), &stdout, &stderr)
		}()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}()
		base := "http://" + addr
		for start := time.Now(); !strings.Contains(stderr.String(), "listening"); time.Sleep(20 * time.Millisecond) {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("gateway did not start:\n%s", stderr.String())
			}
		}
		req, _ := http.NewRequest("POST", base+"/v1/credentials", strings.NewReader(`{"dialect":"fusionauth"}`))
		req.Header.Set("Authorization", "Bearer admin-token-for-tests-0123456789abc")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("mint: %v %v", resp, err)
		}
		var cred struct{ APIKey string }
		_ = json.NewDecoder(resp.Body).Decode(&cred)
		resp.Body.Close()
		req, _ = http.NewRequest("POST", base+"/api/webhook", strings.NewReader(`{"webhook":{"url":"http://127.0.0.1:9/hook","connectTimeout":1000,"readTimeout":1000}}`))
		req.Header.Set("Authorization", cred.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := create(); s != 400 {
		t.Errorf("loopback webhook with the default policy: %d, want 400", s)
	}
	if s := create("--allow-targets", "127.0.0.1"); s != 200 {
		t.Errorf("loopback webhook with 127.0.0.1 in --allow-targets: %d, want 200", s)
	}
}

// startGateway runs the gateway as the binary would be run, with args after its address,
// until the test ends, and returns its base URL once /healthz answers.
func startGateway(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	var done chan error
	var addr string
	launch := func() {
		// A free port, closed again before the gateway binds it: another test may take it
		// first, and then answer /healthz in this gateway's stead. A gateway that could
		// not bind has stopped by then: it is started again on another port.
		addr, done = freeAddr(t), make(chan error, 1)
		go func(addr string, done chan error) {
			done <- run(ctx, append([]string{"--addr", addr}, args...), logs, logs)
		}(addr, done)
	}
	launch()
	t.Cleanup(func() { cancel(); <-done })
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			if time.Since(start) > 30*time.Second {
				t.Fatalf("gateway did not start: %v\n%s", err, logs.String())
			}
			launch()
			continue
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			select {
			case <-done: // it stopped: whoever answered was another test's
				launch()
				continue
			default:
			}
			return "http://" + addr, logs
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("gateway did not start:\n%s", logs.String())
		}
	}
}
