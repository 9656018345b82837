package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestGatewayServesTheConsole: the gateway the command starts serves the console at
// /console, and sends / there.
func TestGatewayServesTheConsole(t *testing.T) {
	base, _ := startGateway(t, "--db", t.TempDir()+"/console.db", "--admin-token", "console-admin-token-for-tests-0123456789")
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
