package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runOut(args ...string) (string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

// Secrets set in the environment never appear in help or in usage errors; help says
// whether each is set.
func TestHelpNeverShowsSecrets(t *testing.T) {
	secrets := map[string]string{
		"POLYHOOK_ADMIN_TOKEN": "phk_realtoken_xyz0123456789abcdefghij",
		"POLYHOOK_SECRET_KEY":  "super-secret-master-key-123",
		"POLYHOOK_DB":          "postgres://user:hunter2@127.0.0.1:1/db",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"-h"}, {"credentials", "create", "--help"}, {"events", "list", "--help"},
		{"serve", "--bogus"}, {"events", "list", "--bogus"}, {"admin-token", "reset", "--help"},
	} {
		out, err := runOut(args...)
		for k, v := range secrets {
			if strings.Contains(out, v) || (err != nil && strings.Contains(err.Error(), v)) {
				t.Errorf("%v shows %s's value:\n%s", args, k, out)
			}
		}
		help := strings.Contains(strings.Join(args, " "), "-h")
		if help && err != nil {
			t.Errorf("%v: %v, want exit 0", args, err)
		}
		if !help && exitCode(err) != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, exitCode(err))
		}
	}
	out, _ := runOut("serve", "--help")
	out = strings.Join(strings.Fields(out), " ") // undo the wrapping
	for _, want := range []string{"[POLYHOOK_ADMIN_TOKEN is set]", "[POLYHOOK_SECRET_KEY is set]", "--max-attempts=12", "--retention=30d"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out)
		}
	}
}

// Each command's help lists its own flags only.
func TestHelpPerCommand(t *testing.T) {
	out, err := runOut("events", "list", "--help")
	if err != nil || !strings.Contains(out, "--tenant") || !strings.Contains(out, "--output") || strings.Contains(out, "--rate-limit") || strings.Contains(out, "--workers") {
		t.Errorf("events list --help: %v\n%s", err, out)
	}
	out, err = runOut("credentials", "--help")
	if err != nil || !strings.Contains(out, "credentials create") {
		t.Errorf("credentials --help: %v\n%s", err, out)
	}
	out, err = runOut("help", "webhooks", "recover")
	if err != nil || !strings.Contains(out, "--include-retrying") {
		t.Errorf("help webhooks recover: %v\n%s", err, out)
	}
	out, err = runOut("--help")
	if err != nil || !strings.Contains(out, "webhooks recover") || !strings.Contains(out, "version") {
		t.Errorf("--help: %v\n%s", err, out)
	}
}

// A bad environment value stops the start, with an error naming the variable, as the
// same value given as a flag does.
func TestBadEnvironmentStopsTheStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	for _, c := range []struct{ env, value string }{
		{"POLYHOOK_RATE_LIMIT", "fifty"},
		{"POLYHOOK_RETENTION", "7days"},
		{"POLYHOOK_RESCUE_AFTER", "5"},
		{"POLYHOOK_MAX_ATTEMPTS", "twelve"},
		{"POLYHOOK_ALLOW_PRIVATE_TARGETS", "sure"},
		{"POLYHOOK_LOG_LEVEL", "loud"},
		{"POLYHOOK_LOG_FORMAT", "xml"},
		{"POLYHOOK_WORKERS", "0"},
		{"POLYHOOK_RATE_LIMIT", "-1"},
		{"POLYHOOK_ALLOW_TARGETS", "localhost"},
		{"POLYHOOK_SECRET_KEY", "short"},
	} {
		t.Run(c.env+"="+c.value, func(t *testing.T) {
			t.Setenv(c.env, c.value)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out bytes.Buffer
			err := run(ctx, []string{"--db", db, "--addr", "127.0.0.1:0"}, &out, &out)
			if err == nil || !strings.Contains(err.Error(), c.env) {
				t.Fatalf("started, or the error does not name %s: %v", c.env, err)
			}
			if exitCode(err) != 2 {
				t.Errorf("exit %d, want 2", exitCode(err))
			}
		})
	}
}

func TestDurationsTakeDays(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "720h": 30 * 24 * time.Hour, "0d": 0,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"7", "d", "xd", "7days", "1.5d", "-1d"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := runOut("version")
	if err != nil || !strings.HasPrefix(out, "polyhook ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %v %q", err, out)
	}
	out, err = runOut("version", "-o", "json")
	var v versionInfo
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v.Version == "" || v.Go == "" {
		t.Errorf("version -o json: %v %q", err, out)
	}
	version, revision = "v9.9.9", "0123abcd"
	defer func() { version, revision = "", "" }()
	if out, _ := runOut("version"); !strings.HasPrefix(out, "polyhook v9.9.9 (0123abcd)") {
		t.Errorf("stamped version: %q", out)
	}
}

// The bash script completes commands, subcommands and a command's own flags.
func TestCompletionBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	script, err := runOut("completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) string {
		t.Helper()
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = "'" + w + "'"
		}
		prog := script + "\nCOMP_WORDS=(" + strings.Join(q, " ") + "); COMP_CWORD=" + strings.TrimSpace(string(rune('0'+len(words)-1))) +
			"; _polyhook; echo \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command("bash", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := complete("polyhook", "cre"); got != "credentials" {
		t.Errorf("polyhook cre: %q", got)
	}
	if got := complete("polyhook", "credentials", ""); got != "create list revoke" {
		t.Errorf("polyhook credentials: %q", got)
	}
	if got := complete("polyhook", "webhooks", "recover", "--s"); got != "--since" {
		t.Errorf("polyhook webhooks recover --s: %q", got)
	}
	for _, shell := range []string{"zsh", "fish"} {
		if out, err := runOut("completion", shell); err != nil || !strings.Contains(out, "recover") {
			t.Errorf("completion %s: %v", shell, err)
		}
	}
}

// River's routine INFO lines are logged at debug; its warnings stay; json is JSON.
func TestLogs(t *testing.T) {
	var buf bytes.Buffer
	log := (&logFlags{LogLevel: "info", LogFormat: "json"}).logger(&buf)
	river := log.With("component", "river")
	river.Info("producer: Producer job counts")
	river.Warn("river trouble")
	log.Info("polyhook listening")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || strings.Contains(buf.String(), "job counts") {
		t.Fatalf("logged:\n%s", buf.String())
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("not JSON: %s", l)
		}
	}
	buf.Reset()
	debug := (&logFlags{LogLevel: "debug", LogFormat: "text"}).logger(&buf).With("component", "river")
	debug.Info("producer: Producer job counts")
	if !strings.Contains(buf.String(), "level=DEBUG") {
		t.Errorf("river's info at debug level: %q", buf.String())
	}
}

// Tracing is on only when the standard environment names an OTLP endpoint.
func TestTracingConfigured(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
	} {
		for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER"} {
			t.Setenv(k, c.env[k])
		}
		if got := tracingConfigured(); got != c.want {
			t.Errorf("%v: tracing %v, want %v", c.env, got, c.want)
		}
	}
}
