package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A database or address the gateway cannot use stops the start with an error that names
// the flag, the path and why, exits 2, and prints no admin token.
func TestStartErrorsSayWhy(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte("not a database, just notes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	fresh := filepath.Join(dir, "fresh.db")
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"missing directory", []string{"--db", filepath.Join(dir, "no", "such", "x.db")}, nil,
			[]string{"--db (POLYHOOK_DB)", filepath.Join(dir, "no", "such"), "does not exist"}},
		{"a directory", []string{"--db", dir}, nil, []string{"--db (POLYHOOK_DB)", dir + " is a directory"}},
		{"not a database", []string{"--db", notDB}, nil, []string{notDB, "is not an SQLite database"}},
		{"unsupported scheme", nil, map[string]string{"POLYHOOK_DB": "mysql://root:hunter2@db/x"},
			[]string{`"mysql://" URLs are not served`, "postgres://", "SQLite file path"}},
		{"missing CA file", []string{"--db", fresh, "--ca-file", filepath.Join(dir, "missing.pem")}, nil,
			[]string{"--ca-file (POLYHOOK_CA_FILE)", "missing.pem", "no such file"}},
		{"port only", []string{"--db", fresh, "--addr", "18102"}, nil, []string{`--addr (POLYHOOK_ADDR) "18102" must be host:port or :port`}},
		{"address in use", []string{"--db", fresh, "--addr", busy.Addr().String()}, nil,
			[]string{"--addr (POLYHOOK_ADDR) " + busy.Addr().String(), "in use"}},
		{"not an IP", []string{"--db", fresh, "--allow-targets", "not-an-ip"}, nil,
			[]string{`"not-an-ip" is not an IP address or CIDR prefix`}},
		{"no value", []string{"serve", "--addr"}, nil, []string{"--addr needs a value"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			t.Setenv("POLYHOOK_ADMIN_TOKEN", "")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := c.args
			if len(args) == 0 || args[0] != "serve" {
				args = append([]string{"--addr", "127.0.0.1:0"}, args...)
			}
			var out syncBuffer
			err := run(ctx, args, &out, &out)
			if err == nil {
				t.Fatal("started")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "ParseAddr") || strings.Contains(err.Error(), "EOL") {
				t.Errorf("the error shows a password or the parser's words: %v", err)
			}
			if exitCode(err) != 2 {
				t.Errorf("exit %d, want 2: %v", exitCode(err), err)
			}
			if strings.Contains(out.String(), "Admin token") {
				t.Errorf("a start that failed printed an admin token:\n%s", out.String())
			}
		})
	}
	// The failed starts on fresh.db minted no token: the first start that works prints one.
	_, logs := startGateway(t, "--db", fresh, "--admin-token", "")
	if !strings.Contains(logs.String(), "Admin token (shown once") {
		t.Errorf("the first start that came up printed no admin token:\n%s", logs.String())
	}
}

// The commands that open the database themselves refuse a file that does not exist, so
// that a mistyped --db makes no new empty database; --create makes one.
func TestOfflineCommandsRefuseAMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "typo.db")
	for _, args := range [][]string{
		{"credentials", "create", "--offline", "--dialect", "fusionauth", "--db", db},
		{"admin-token", "reset", "--db", db},
	} {
		out, err := runOut(args...)
		if err == nil || !strings.Contains(err.Error(), db+" does not exist") || !strings.Contains(err.Error(), "--create") || exitCode(err) != 2 {
			t.Errorf("%v: %v (exit %d)\n%s", args, err, exitCode(err), out)
		}
		if _, err := os.Stat(db); err == nil {
			t.Fatalf("%v created %s", args, db)
		}
	}
	if out, err := runOut("admin-token", "reset", "--db", db, "--create"); err != nil || !strings.Contains(out, "Admin token") {
		t.Fatalf("admin-token reset --create: %v\n%s", err, out)
	}
	if out, err := runOut("credentials", "create", "--offline", "--dialect", "fusionauth", "--db", db); err != nil || !strings.Contains(out, "apiKey") {
		t.Fatalf("credentials create --offline on the database made: %v\n%s", err, out)
	}
	out, err := runOut("credentials", "create", "--offline", "--dialect", "xsolla", "--db", db)
	if err == nil || !strings.Contains(err.Error(), "--project") || strings.Contains(err.Error(), "projectIds") {
		t.Errorf("xsolla without --project: %v\n%s", err, out)
	}
}

// A token that is sent but wrong is answered as refused, not as missing; 404s name what
// was not found; the CLI checks --limit before it asks.
func TestAnswersSayWhatWentWrong(t *testing.T) {
	t.Setenv("POLYHOOK_ADMIN_TOKEN", "the-right-admin-token-for-tests-0123456789")
	base, _ := startGateway(t, "--db", filepath.Join(t.TempDir(), "p.db"))
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if s, b := get("/v1/webhooks", "wrong-token"); s != 401 || !strings.Contains(b, "The admin token was not accepted") {
		t.Errorf("wrong token: %d %s", s, b)
	}
	if s, b := get("/v1/webhooks", ""); s != 401 || !strings.Contains(b, "Send the admin token") {
		t.Errorf("no token: %d %s", s, b)
	}
	for path, want := range map[string]string{
		"/v1/webhooks/wh_nope":     "Webhook wh_nope not found.",
		"/v1/deliveries/dl_nope":   "Delivery dl_nope not found.",
		"/v1/events/ev_nope":       "Event ev_nope not found.",
		"/v1/recoveries/rc_nope":   "Recovery rc_nope not found.",
		"/v1/no-such-thing":        "Nothing is served at /v1/no-such-thing.",
		"/v1/webhooks/wh_nope/xyz": "Nothing is served at /v1/webhooks/wh_nope/xyz.",
	} {
		if s, b := get(path, "the-right-admin-token-for-tests-0123456789"); s != 404 || !strings.Contains(b, want) {
			t.Errorf("GET %s: %d %s, want %q", path, s, b, want)
		}
	}
	out, err := runOut("webhooks", "show", "wh_nope", "--url", base)
	if err == nil || !strings.Contains(err.Error(), "Webhook wh_nope not found") {
		t.Errorf("webhooks show of a missing webhook: %v\n%s", err, out)
	}
	out, err = runOut("publish", "--type", "user.created", "--url", base, "--token", "wrong")
	if err == nil || !strings.Contains(err.Error(), "The admin token was not accepted") {
		t.Errorf("publish with a wrong token: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"deliveries", "list", "--limit", "0"}, {"events", "list", "--limit", "5000"}, {"webhooks", "list", "--limit=-1"}} {
		// An unreachable --url shows the check comes before any request.
		out, err := runOut(append(args, "--url", "http://127.0.0.1:1")...)
		if err == nil || !strings.Contains(err.Error(), "--limit must be from 1 to 1000") || exitCode(err) != 2 {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
}

func TestCountsArePlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 deliveries", 1: "1 delivery", 2: "2 deliveries"} {
		if got := count(n, "delivery", "deliveries"); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}
