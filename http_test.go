package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// HEAD is answered wherever GET is, with GET's status and headers and no body; a browser's
// /favicon.ico gets the console's icon; /metrics names the build.
func TestHTTPDetails(t *testing.T) {
	base, _ := startGateway(t, "--db", filepath.Join(t.TempDir(), "http.db"), "--admin-token", "http-admin-token-for-tests-0123456789")
	for _, path := range []string{"/docs", "/healthz", "/readyz", "/metrics", "/openapi/polyhook.yaml", "/console/", "/favicon.ico"} {
		get, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		get.Body.Close()
		head, err := http.Head(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(head.Body)
		head.Body.Close()
		if get.StatusCode != 200 || head.StatusCode != 200 || len(b) != 0 || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("%s: GET %d, HEAD %d with %d bytes, %q vs %q", path, get.StatusCode, head.StatusCode, len(b), head.Header.Get("Content-Type"), get.Header.Get("Content-Type"))
		}
	}
	resp, err := http.Get(base + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	icon, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(icon), "<svg") {
		t.Errorf("favicon: %q %.80s", resp.Header.Get("Content-Type"), icon)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`polyhook_build_info{goversion="go`, `version="`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
