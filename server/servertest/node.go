package servertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// node_modules yet or they were installed from another lockfile (a checkout that gained a
// package), so that tests of vendors' own SDKs need nothing installed by hand.
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
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		npmMu.Unlock()
		t.Fatalf("reading the lockfile of %s: %v", dir, err)
	}
	sum := sha256.Sum256(lock)
	stamp := filepath.Join(dir, "node_modules", ".installed-lock-sha256")
	want := hex.EncodeToString(sum[:])
	if have, err := os.ReadFile(stamp); err != nil || string(have) != want {
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			npmMu.Unlock()
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
		if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
			npmMu.Unlock()
			t.Fatalf("marking %s installed: %v", dir, err)
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
