package main

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/polyhook/polyhook/server/nursa"
)

// The command line follows svix-cli's and convoy's conventions: --version and -v, global
// flags before or after the command and in the root help, a stored login, -o on the
// commands that print.
func TestCLIConventions(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-v"}} {
		out, err := runOut(args...)
		if err != nil || !strings.HasPrefix(out, "polyhook ") || !strings.Contains(out, "linux") && !strings.Contains(out, "darwin") {
			t.Errorf("%v: %v %q", args, err, out)
		}
	}
	out, _ := runOut("--help")
	for _, want := range []string{"--url=STRING", "--token=STRING", "-o, --output", "-v, --version", "login", "verify"} {
		if !strings.Contains(out, want) {
			t.Errorf("root help lacks %q:\n%s", want, out)
		}
	}

	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	t.Setenv("HOME", config)
	t.Setenv("POLYHOOK_ADMIN_TOKEN", "")
	t.Setenv("POLYHOOK_URL", "")
	base, _ := startGateway(t, "--db", t.TempDir()+"/conv.db", "--admin-token", "conventions-admin-token-for-tests-0123456789")

	// Global flags before the command, and after it.
	if out, err := runOut("--url", base, "--token", "conventions-admin-token-for-tests-0123456789", "-o", "json", "webhooks", "list"); err != nil || !strings.Contains(out, `"webhooks"`) {
		t.Errorf("flags before the command: %v\n%s", err, out)
	}
	if out, err := runOut("webhooks", "list", "-o", "json", "--url", base, "--token", "conventions-admin-token-for-tests-0123456789"); err != nil || !strings.Contains(out, `"webhooks"`) {
		t.Errorf("flags after the command: %v\n%s", err, out)
	}

	// A wrong token is not stored; the right one is, in a file only the user reads.
	if out, err := runOut("login", "--url", base, "--token", "wrong"); err == nil || !strings.Contains(err.Error(), "not accepted") {
		t.Errorf("login with a wrong token: %v\n%s", err, out)
	}
	path := filepath.Join(config, "polyhook", "config.json")
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a refused login was stored")
	}
	if out, err := runOut("login", "--url", base, "--token", "conventions-admin-token-for-tests-0123456789"); err != nil || !strings.Contains(out, path) {
		t.Fatalf("login: %v\n%s", err, out)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the login file: %v %v", err, st)
	}
	if out, err := runOut("webhooks", "list"); err != nil || !strings.Contains(out, "ID") {
		t.Errorf("webhooks list after login, with no flags: %v\n%s", err, out)
	}
	// The stored token is not sent to another gateway.
	if out, err := runOut("webhooks", "list", "--url", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "no admin token") {
		t.Errorf("the stored token went to another --url: %v\n%s", err, out)
	}

	// credentials create prints a table by default, JSON with -o json.
	if out, err := runOut("credentials", "create", "--dialect", "fusionauth"); err != nil || !regexp.MustCompile(`(?m)^ID\s+DIALECT\s+NAME$`).MatchString(out) || !strings.Contains(out, "apiKey: ") {
		t.Errorf("credentials create: %v\n%s", err, out)
	}
	if out, err := runOut("credentials", "create", "--dialect", "fusionauth", "-o", "json"); err != nil || !strings.Contains(out, `"apiKey": "`) {
		t.Errorf("credentials create -o json: %v\n%s", err, out)
	}
	if out, err := runOut("logout"); err != nil || !strings.Contains(out, "removed") {
		t.Errorf("logout: %v\n%s", err, out)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("logout left the login")
	}
}

// polyhook verify says a delivery as received is valid, and why one changed on the way
// is not: with the webhook's id and the gateway, or with its secret alone.
func TestVerifyADelivery(t *testing.T) {
	got := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer rcv.Close()
	t.Setenv("POLYHOOK_ADMIN_TOKEN", "verify-admin-token-for-tests-0123456789")
	base, _ := startGateway(t, "--db", t.TempDir()+"/verify.db", "--allow-targets", "127.0.0.1")
	out, err := runOut("webhooks", "create", "--endpoint", rcv.URL, "--event", "user.created", "--url", base)
	if err != nil {
		t.Fatal(err, out)
	}
	id := regexp.MustCompile(`(?m)^([0-9a-f-]{36})\s`).FindStringSubmatch(out)[1]
	secret := regexp.MustCompile(`whsec_\S+`).FindString(out)
	if _, err := runOut("publish", "--type", "user.created", "--data", `{"user":{"id":"u1"}}`, "--url", base); err != nil {
		t.Fatal(err)
	}
	var req *http.Request
	var body []byte
	select {
	case req = <-got:
		body = <-bodies
	case <-time.After(15 * time.Second):
		t.Fatal("no delivery")
	}
	dir := t.TempDir()
	var headers strings.Builder
	headers.WriteString("HTTP/1.1 POST\n")
	for k, vs := range req.Header {
		for _, v := range vs {
			headers.WriteString(k + ": " + v + "\n")
		}
	}
	hf, bf, tampered := filepath.Join(dir, "headers"), filepath.Join(dir, "body"), filepath.Join(dir, "tampered")
	_ = os.WriteFile(hf, []byte(headers.String()), 0o600)
	_ = os.WriteFile(bf, body, 0o600)
	_ = os.WriteFile(tampered, []byte(strings.Replace(string(body), "u1", "u2", 1)), 0o600)

	out, err = runOut("verify", "--webhook", id, "--headers", hf, "--body", bf, "--url", base)
	if err != nil || !strings.Contains(out, "Standard Webhooks: valid: signed with secret 1 of 1") {
		t.Errorf("verify --webhook: %v\n%s", err, out)
	}
	out, err = runOut("verify", "--secret", secret, "--headers", hf, "--body", tampered)
	if err == nil || exitCode(err) != 1 || !strings.Contains(out, "NOT valid: no signature matches the body") {
		t.Errorf("verify of a changed body: %v\n%s", err, out)
	}
	out, err = runOut("verify", "--secret", secret, "--headers", hf, "--body", bf, "--tolerance", "1ns")
	if err == nil || !strings.Contains(out, "beyond --tolerance") {
		t.Errorf("verify with a tolerance passed: %v\n%s", err, out)
	}
	out, err = runOut("verify", "--secret", secret, "-H", "Content-Type: application/json", "--body", bf)
	if err == nil || !strings.Contains(out, "headers are not all there") {
		t.Errorf("verify without the signature headers: %v\n%s", err, out)
	}
}

// Nursa's and Authing's own schemes are checked with the webhook's own secret.
func TestVerifyDialectSchemes(t *testing.T) {
	body := []byte(`{"data":{"id":"s1"},"eventType":"shift.created"}`)
	now := time.Now()
	h := http.Header{}
	h.Set("Nursa-Signature", nursaSig(now.Unix(), body, "nursa-secret"))
	if c := verifyNursa(h.Get("Nursa-Signature"), body, []string{"other", "nursa-secret"}, now, 0); !c.Valid || c.Why != "signed with secret 2 of 2" {
		t.Errorf("nursa: %+v", c)
	}
	if c := verifyNursa(h.Get("Nursa-Signature"), append(body, ' '), []string{"nursa-secret"}, now, 0); c.Valid {
		t.Errorf("nursa, a changed body: %+v", c)
	}
	if c := verifyAuthing("authing-secret", []string{"authing-secret"}); !c.Valid {
		t.Errorf("authing: %+v", c)
	}
	if c := verifyAuthing("authing-secret", []string{"another"}); c.Valid {
		t.Errorf("authing with another secret: %+v", c)
	}
}

func nursaSig(t int64, body []byte, secret string) string {
	return nursa.Signature(t, body, []string{secret})
}

// FusionAuth's X-FusionAuth-Signature-JWT verifies with the key, and names the body.
func TestVerifyFusionAuthJWT(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"event":{"type":"user.create"}}`)
	sum := sha256.Sum256(body)
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"request_body_sha256": base64.StdEncoding.EncodeToString(sum[:])}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(key)
	if c := verifyFusionAuth(token, body, b64); !c.Valid {
		t.Errorf("fusionauth: %+v", c)
	}
	if c := verifyFusionAuth(token, append(body, ' '), b64); c.Valid || !strings.Contains(c.Why, "body was changed") {
		t.Errorf("fusionauth, a changed body: %+v", c)
	}
	if c := verifyFusionAuth(token, body, base64.StdEncoding.EncodeToString([]byte("another key, another key, another"))); c.Valid {
		t.Errorf("fusionauth with another key: %+v", c)
	}
}
