package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The gateway as "go run ." starts it serves the specs and the reference page, without a
// token, and native subscriptions behind the admin token.
func TestServesContractsAndSubscriptions(t *testing.T) {
	base, _ := startGateway(t, "--db", t.TempDir()+"/ref.db", "--admin-token", "ref-admin-token-for-tests-0123456789", "--allow-targets", "127.0.0.1")
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, page := get("/docs"); status != 200 || !strings.Contains(page, "/docs/assets/redoc.standalone.js") {
		t.Errorf("/docs: %d", status)
	}
	for _, name := range []string{"polyhook", "fusionauth", "xsolla", "nursa", "authing"} {
		for _, ext := range []string{".yaml", ".json"} {
			if status, _ := get("/openapi/" + name + ext); status != 200 {
				t.Errorf("/openapi/%s%s: %d", name, ext, status)
			}
		}
	}
	subscribe := func(url string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/v1/webhooks", strings.NewReader(`{"url":"`+url+`","events":["user.created"]}`))
		req.Header.Set("Authorization", "Bearer ref-admin-token-for-tests-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The gateway's SSRF policy is applied when the subscription is made: loopback is
	// refused but for the address --allow-targets allows.
	if status := subscribe("http://127.0.0.2:9/h"); status != 400 {
		t.Errorf("subscribe to a loopback address not allowed: %d, want 400", status)
	}
	if status := subscribe("http://127.0.0.1:9/h"); status != 201 {
		t.Fatalf("subscribe: %d", status)
	}
	// A published canonical event makes a delivery to the subscription.
	req, _ := http.NewRequest("POST", base+"/v1/events", strings.NewReader(`{"type":"user.created"}`))
	req.Header.Set("Authorization", "Bearer ref-admin-token-for-tests-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.Contains(string(b), `"deliveries":1`) {
		t.Errorf("publish: %d %s", resp.StatusCode, b)
	}
}
