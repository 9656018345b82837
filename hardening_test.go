package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeHardening runs the gateway as configured from the command line and checks
// what is wired there: the body limit flag, the throttling of failed admin logins, and
// readiness and publishes once the SQLite file is replaced under it.
func TestServeHardening(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "polyhook.db")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", addr, "--db", dbPath, "--admin-token", "right-admin-token-for-tests-0123456789", "--max-body-bytes", "2048"}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		<-done
	}()
	base := "http://" + addr
	call := func(method, path, token, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		return resp
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not start: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// --max-body-bytes: the unauthenticated token endpoint refuses a body over it.
	if resp := call("POST", "/oidc/oauth/token", "", `{"client_id":"`+strings.Repeat("a", 2048)+`"}`); resp.StatusCode != 413 {
		t.Errorf("a body over --max-body-bytes: %d", resp.StatusCode)
	}
	if resp := call("POST", "/v1/events", "right-admin-token-for-tests-0123456789", `{"type":"user.created","data":{}}`); resp.StatusCode != 201 {
		t.Errorf("a publish under the limit: %d", resp.StatusCode)
	}

	// Wrong admin tokens: the default budget, then 429; the right token still works.
	var last *http.Response
	for i := 0; i < 11; i++ {
		last = call("GET", "/v1/webhooks", "wrong", "")
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
		t.Errorf("the 11th wrong admin token: %d, Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
	if resp := call("GET", "/v1/webhooks", "right-admin-token-for-tests-0123456789", ""); resp.StatusCode != 200 {
		t.Errorf("the right token after the wrong ones: %d", resp.StatusCode)
	}

	// The file replaced (a restore gone wrong, a volume remounted): not ready, and a
	// publish is refused with 503, not acknowledged into a file no one will open again.
	if err := os.Rename(dbPath, dbPath+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dbPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if resp := call("GET", "/readyz", "", ""); resp.StatusCode != 503 {
		t.Errorf("readyz with the file replaced: %d", resp.StatusCode)
	}
	if resp := call("POST", "/v1/events", "right-admin-token-for-tests-0123456789", `{"type":"user.created","data":{}}`); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a publish with the file replaced: %d", resp.StatusCode)
	}
}

// A request with both Content-Length and Transfer-Encoding (RFC 9112 §6.1: answer, then
// close) on a raw connection: what follows its chunked body, which a front end trusting
// Content-Length would take for part of the body, must never run as a request.
func TestServe_CLTESmugglingClosesTheConnection(t *testing.T) {
	base, _ := startGateway(t, "--db", filepath.Join(t.TempDir(), "polyhook.db"), "--admin-token", costToken)
	addr := strings.TrimPrefix(base, "http://")
	exchange := func(raw string) (statuses []string, closed bool) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		br := bufio.NewReader(conn)
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				var ne net.Error
				return statuses, !(errors.As(err, &ne) && ne.Timeout())
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses = append(statuses, resp.Status)
		}
	}
	smuggled := "GET /v1/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + costToken + "\r\n\r\n"
	statuses, closed := exchange("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + costToken + "\r\n" +
		"Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled)
	if len(statuses) != 1 || !closed {
		t.Errorf("CL.TE request: answers %q, connection closed %v; want one answer, then the connection closed", statuses, closed)
	}
	// Requests framed by Content-Length alone keep the connection.
	get := "GET /v1/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + costToken + "\r\n\r\n"
	last := strings.Replace(get, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1)
	if statuses, _ := exchange(get + last); len(statuses) != 2 || statuses[1] != "200 OK" {
		t.Errorf("two pipelined requests: answers %q, want two", statuses)
	}
}

// An admin token given at start: under 16 characters refused with the variable named,
// under 32 warned about, 32 or more taken quietly.
func TestServe_AdminTokenLength(t *testing.T) {
	err := run(context.Background(), []string{"serve", "--addr", freeAddr(t), "--db", filepath.Join(t.TempDir(), "p.db"), "--admin-token", "fifteen-chars!!"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "POLYHOOK_ADMIN_TOKEN") || !strings.Contains(err.Error(), "16") {
		t.Errorf("a 15-character admin token: %v; want a refusal naming POLYHOOK_ADMIN_TOKEN and 16", err)
	}
	for _, tc := range []struct {
		token string
		warns bool
	}{
		{"sixteen-chars-ok", true},
		{"thirty-one-characters-long-0123", true},
		{"thirty-two-characters-long-01234", false},
	} {
		_, logs := startGateway(t, "--db", filepath.Join(t.TempDir(), "p.db"), "--admin-token", tc.token)
		warned := strings.Contains(logs.String(), "POLYHOOK_ADMIN_TOKEN")
		if warned != tc.warns {
			t.Errorf("a %d-character admin token: warned %v, want %v\n%s", len(tc.token), warned, tc.warns, logs.String())
		}
		if strings.Contains(logs.String(), tc.token) {
			t.Errorf("the admin token appears in the logs")
		}
	}
}
