package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tourBlock is one "sh tour" block of the README and the answers its comments promise
// ("# => text": the block's output holds text, after the previous promise's).
type tourBlock struct {
	line    int
	script  string
	answers []string
}

func tourBlocks(t *testing.T) []tourBlock {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []tourBlock
	var cur *tourBlock
	for i, l := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(l) == "```sh tour":
			cur = &tourBlock{line: i + 1}
		case cur != nil && strings.TrimSpace(l) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			if a, ok := strings.CutPrefix(strings.TrimSpace(l), "# => "); ok {
				cur.answers = append(cur.answers, a)
			}
			cur.script += l + "\n"
		}
	}
	if len(blocks) < 8 {
		t.Fatalf("the README has %d tour blocks", len(blocks))
	}
	return blocks
}

// TestReadmeTour runs the README's tour, every "sh tour" block in order in one shell,
// against a gateway started as the README says, and checks the answers the README
// promises, so that the README cannot drift from what the gateway does. "go run ." is
// the built binary; the addresses are free ports instead of 8080 and 9000.
func TestReadmeTour(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the tour needs %s", tool)
		}
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr, rcvAddr := freeAddr(t), freeAddr(t)
	t.Setenv("POLYHOOK_ADMIN_TOKEN", "change-me-to-32-or-more-random-characters")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs syncBuffer
	go func() {
		done <- run(ctx, []string{"--addr", addr, "--db", filepath.Join(dir, "polyhook.db"), "--allow-targets", "127.0.0.1"}, &logs, &logs)
	}()
	defer func() { cancel(); <-done }()
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("gateway did not start:\n%s", logs.String())
		}
	}

	blocks := tourBlocks(t)
	var script strings.Builder
	script.WriteString("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n")
	script.WriteString(`go() { if [ "$1" = run ] && [ "$2" = . ]; then shift 2; "$POLYHOOK_BIN" "$@"; else command go "$@"; fi; }` + "\n")
	for i, b := range blocks {
		body := strings.ReplaceAll(b.script, "127.0.0.1:8080", addr)
		body = strings.ReplaceAll(body, `"127.0.0.1", 9000`, `"127.0.0.1", `+strings.Split(rcvAddr, ":")[1])
		body = strings.ReplaceAll(body, "127.0.0.1:9000", rcvAddr)
		script.WriteString("echo '@@block " + string(rune('A'+i)) + "'\n" + body)
		if strings.Contains(body, "> received.log &") {
			// Wait for the receiver the block started, as a reader would before going on.
			script.WriteString("for i in $(seq 50); do (echo > /dev/tcp/" + strings.ReplaceAll(rcvAddr, ":", "/") + ") 2>/dev/null && break; sleep 0.1; done\n")
		}
	}
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "POLYHOOK_BIN="+bin, "POLYHOOK_URL=http://"+addr)
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	if err != nil {
		t.Fatalf("the tour failed: %v\n%s\ngateway:\n%s", err, out, logs.String())
	}
	parts := strings.Split(out, "@@block ")
	for i, b := range blocks {
		var got string
		for _, p := range parts {
			if strings.HasPrefix(p, string(rune('A'+i))+"\n") {
				got = p
			}
		}
		rest := got
		for _, a := range b.answers {
			j := strings.Index(rest, a)
			if j < 0 {
				t.Errorf("README line %d: the block's output lacks %q (after the answers before it):\n%s", b.line, a, got)
				break
			}
			rest = rest[j+len(a):]
		}
	}
}
