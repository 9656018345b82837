package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGatewayServesTheConsole: the gateway the command starts serves the console at
// /console, and sends / there.
func TestGatewayServesTheConsole(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs syncBuffer
	go func() {
		done <- run(ctx, []string{"--addr", addr, "--db", t.TempDir() + "/console.db", "--admin-token", "console"}, &logs, &logs)
	}()
	defer func() { cancel(); <-done }()
	base := "http://" + addr
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("gateway did not start: %s", logs.String())
		}
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/console/" || !strings.Contains(string(b), `<script type="module" src="app.js">`) {
		t.Errorf("GET / led to %s: %d %.200s", resp.Request.URL, resp.StatusCode, b)
	}
}
