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
	if err := run(context.Background(), []string{"credentials", "create", "--dialect", "fusionauth", "--url", base, "--token", token, "--name", "cli"}, &cliOut, &cliErr); err != nil {
		t.Fatalf("credentials create: %v\n%s", err, cliErr.String())
	}
	var cliCred struct{ APIKey string }
	if err := json.Unmarshal([]byte(cliOut.String()), &cliCred); err != nil || cliCred.APIKey == "" {
		t.Fatalf("credentials create printed %q", cliOut.String())
	}
	cliOut = syncBuffer{}
	if err := run(context.Background(), []string{"credentials", "create", "--offline", "--dialect", "fusionauth", "--db", dbPath, "--name", "offline"}, &cliOut, &cliErr); err != nil {
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
