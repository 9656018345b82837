package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPortalLinksCLI: portal-links create prints a link that opens a portal session for
// the tenant, once; portal-links revoke ends it. The portal page is served with the
// configured frame-ancestors.
func TestPortalLinksCLI(t *testing.T) {
	base, _ := startGateway(t, "--db", t.TempDir()+"/portal.db", "--admin-token", "portal-admin-token-for-tests-0123456789",
		"--portal-origins", "https://app.example.com, http://localhost:3000")
	cli := func(args ...string) (string, error) {
		var out, errb syncBuffer
		err := run(context.Background(), append(args, "--url", base, "--token", "portal-admin-token-for-tests-0123456789"), &out, &errb)
		return out.String() + errb.String(), err
	}
	out, err := cli("portal-links", "create", "--tenant", "acme", "--expires-in", "30m", "--name", "Acme", "--accent", "#336699")
	var link struct{ ID, URL, Tenant string }
	if err != nil || json.Unmarshal([]byte(out), &link) != nil || link.Tenant != "acme" || !strings.HasPrefix(link.URL, base+"/portal/#token=") {
		t.Fatalf("portal-links create: %v %s", err, out)
	}
	if out, err := cli("portal-links", "create", "--tenant", "acme", "--expires-in", "forever"); err == nil || !strings.Contains(out+err.Error(), "expiresIn") {
		t.Errorf("a bad --expires-in: %v %s", err, out)
	}
	_, tok, _ := strings.Cut(link.URL, "#token=")
	open := func() *http.Response {
		req, _ := http.NewRequest("POST", base+"/portal/v1/session", strings.NewReader(`{"token":"`+tok+`"}`))
		req.Header.Set("X-Polyhook-Portal", "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := open(); resp.StatusCode != 201 || len(resp.Cookies()) != 1 || resp.Cookies()[0].SameSite != http.SameSiteNoneMode || !resp.Cookies()[0].Secure || !resp.Cookies()[0].Partitioned {
		t.Errorf("open the portal: %d %v", resp.StatusCode, resp.Cookies())
	}
	if resp := open(); resp.StatusCode != 401 {
		t.Errorf("the link opened twice: %d", resp.StatusCode)
	}
	if out, err := cli("portal-links", "revoke", link.ID); err != nil || !strings.Contains(out, "revoked") {
		t.Errorf("portal-links revoke: %v %s", err, out)
	}
	resp, err := http.Get(base + "/portal/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(csp, "frame-ancestors https://app.example.com http://localhost:3000;") ||
		resp.Header.Get("X-Frame-Options") != "" || !strings.Contains(string(b), `data-mode="portal"`) {
		t.Errorf("GET /portal/: %d %q %v", resp.StatusCode, csp, resp.Header)
	}
	resp, err = http.Get(base + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the console may be framed: %q", csp)
	}
	var errOut syncBuffer
	if err := run(context.Background(), []string{"serve", "--portal-origins", "https://a.example.com; script-src *"}, &errOut, &errOut); err == nil || !strings.Contains(err.Error(), "--portal-origins") {
		t.Errorf("a bad --portal-origins: %v", err)
	}
}
