package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tourBlock is one "sh tour" block of a page and the answers its comments promise
// ("# => text": the block's output holds text, after the previous promise's).
type tourBlock struct {
	page    string
	line    int
	script  string
	answers []string
}

func tourBlocks(t *testing.T, page string) []tourBlock {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []tourBlock
	var cur *tourBlock
	for i, l := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(l) == "```sh tour":
			cur = &tourBlock{page: page, line: i + 1}
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
	return blocks
}

// tourPages are the pages whose "sh tour" blocks run, in this order, in one shell: the
// README's tour first, then the docs pages that go on from it (in the README's order),
// then any other docs page that has such blocks.
func tourPages(t *testing.T) []string {
	pages := []string{"README.md", "docs/dialects.md", "docs/delivery-semantics.md", "docs/operations.md"}
	others, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range others {
		if !contains(pages, p) {
			pages = append(pages, p)
		}
	}
	return pages
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestReadmeTour runs the README's tour, every "sh tour" block in order in one shell
// (then the docs pages' blocks, which go on from it), as a reader would in one terminal:
// the README's first block starts the one gateway, with the admin token set before. It
// checks the answers the pages promise, so that they cannot drift from what the gateway
// does. "go run ." is the built binary; the addresses are free ports instead of 8080 and
// 9000, and the directory is a fresh one.
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

	var blocks []tourBlock
	for _, p := range tourPages(t) {
		blocks = append(blocks, tourBlocks(t, p)...)
	}
	if readme := tourBlocks(t, "README.md"); len(readme) < 4 || !strings.Contains(readme[0].script, "export POLYHOOK_ADMIN_TOKEN=") || !strings.Contains(readme[0].script, "go run .") {
		t.Fatalf("the README's tour must start with the admin token and the gateway: %d blocks", len(readme))
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT\n")
	script.WriteString(`go() { if [ "$1" = run ] && [ "$2" = . ]; then shift 2; "$POLYHOOK_BIN" "$@"; else command go "$@"; fi; }` + "\n")
	for i, b := range blocks {
		body := strings.ReplaceAll(b.script, "127.0.0.1:8080", addr)
		body = strings.ReplaceAll(body, `"127.0.0.1", 9000`, `"127.0.0.1", `+strings.Split(rcvAddr, ":")[1])
		body = strings.ReplaceAll(body, "127.0.0.1:9000", rcvAddr)
		script.WriteString("echo '@@block " + strconv.Itoa(i) + "'\n" + body)
		if strings.Contains(body, "> received.log &") {
			// Wait for the receiver the block started, as a reader would before going on.
			script.WriteString("for i in $(seq 50); do (echo > /dev/tcp/" + strings.ReplaceAll(rcvAddr, ":", "/") + ") 2>/dev/null && break; sleep 0.1; done\n")
		}
	}
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = dir
	// The tour's background jobs (the gateway, the receiver) are in the script's process
	// group, stopped with it as closing the terminal would.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The gateway the README starts listens where the test chose; the command line finds it
	// there.
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "POLYHOOK_") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, "POLYHOOK_BIN="+bin, "POLYHOOK_ADDR="+addr, "POLYHOOK_URL=http://"+addr,
		"XDG_CONFIG_HOME="+dir, "HOME="+dir)
	done := make(chan struct{})
	go func() { // the gateway stops with the script; a hung tour is reported, not waited for
		select {
		case <-done:
		case <-time.After(3 * time.Minute):
			_ = cmd.Process.Kill()
		}
	}()
	outb, err := cmd.CombinedOutput()
	close(done)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
		resp, herr := http.Get("http://" + addr + "/healthz")
		if herr != nil {
			break
		}
		resp.Body.Close()
	}
	out := string(outb)
	gatewayLog, _ := os.ReadFile(filepath.Join(dir, "gateway.log"))
	if err != nil {
		t.Fatalf("the tour failed: %v\n%s\ngateway:\n%s", err, out, gatewayLog)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("the gateway the tour started still runs after it was stopped")
	}
	parts := strings.Split(out, "@@block ")
	for i, b := range blocks {
		var got string
		for _, p := range parts {
			if strings.HasPrefix(p, strconv.Itoa(i)+"\n") {
				got = p
			}
		}
		rest := got
		for _, a := range b.answers {
			j := strings.Index(rest, a)
			if j < 0 {
				t.Errorf("%s line %d: the block's output lacks %q (after the answers before it):\n%s", b.page, b.line, a, got)
				break
			}
			rest = rest[j+len(a):]
		}
	}
	if strings.Contains(string(gatewayLog), "level=ERROR") {
		t.Errorf("the gateway logged an error during the tour:\n%s", gatewayLog)
	}
}
