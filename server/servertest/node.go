package servertest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var npmMu sync.Mutex

// Node runs a Node.js script from dir (a folder with a package.json and
// package-lock.json), first installing the locked packages with "npm ci" when dir has no
// node_modules yet, so that tests of vendors' own SDKs need nothing installed by hand.
// env entries are "KEY=value". It fails the test when the script exits non-zero and
// returns its standard output. Without node on PATH the test is skipped.
func Node(t testing.TB, dir, script string, env ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	npmMu.Lock()
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			npmMu.Unlock()
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	npmMu.Unlock()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}
