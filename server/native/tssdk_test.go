package native_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store/storetest"
)

// The TypeScript SDK in sdk/typescript: its generated sources match the specs, it builds
// from its lockfile with "npm run build", and, under Node against a running gateway, it
// subscribes, publishes, lists deliveries, retries and drives a dialect's API. Skipped
// without node.
func TestTypeScriptSDK(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	dir, err := filepath.Abs("../../sdk/typescript")
	if err != nil {
		t.Fatal(err)
	}
	servertest.Node(t, dir, "scripts/generate.mjs", "GENERATE_CHECK=1") // installs the lockfile first
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "npm", "run", "build")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("npm run build: %v\n%s", err, out)
	}

	gw := startGateway(t, storetest.Open(t))
	rcv := newReceiver(t)
	out := servertest.Node(t, dir, "test/gateway.test.mjs",
		"POLYHOOK_URL="+gw, "POLYHOOK_ADMIN_TOKEN="+token, "RECEIVER_URL="+rcv.URL)
	var res struct {
		Secret, DeliveryID, Retried, FusionauthID string
		Webhooks                                  int
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Retried != "pending" || res.FusionauthID == "" || res.Webhooks != 2 {
		t.Fatalf("the SDK test printed %s (%v)", out, err)
	}
	// The README's example runs as it is written, against the built package.
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```ts\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("the SDK's README has no ts example")
	}
	example := strings.Replace(string(m[1]), `from "@polyhook/client"`, `from "`+(&url.URL{Scheme: "file", Path: filepath.Join(dir, "dist", "index.js")}).String()+`"`, 1)
	script := filepath.Join(t.TempDir(), "readme-example.mjs")
	if err := os.WriteFile(script, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := servertest.Node(t, dir, script, "POLYHOOK_URL="+gw, "POLYHOOK_ADMIN_TOKEN="+token); !regexp.MustCompile(`webhook \S+ whsec_\S+\nevent \S+ deliveries \d+`).Match(out) {
		t.Errorf("the README's example printed %q", out)
	}

	wh, err := standardwebhooks.NewWebhook(res.Secret)
	if err != nil {
		t.Fatal(err)
	}
	// The delivery, its retry and the README example's user.created, which the SDK's
	// webhook takes too: the retry waits for the next look for due deliveries, so the
	// example's may come before it.
	ours := 0
	for i, r := range rcv.wait(t, "/ts", 3) {
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("request %d does not verify with the secret the SDK was given: %v", i, err)
		}
		if r.header.Get("webhook-id") == res.DeliveryID {
			ours++
		}
	}
	if ours != 2 {
		t.Errorf("the SDK's delivery %s came %d times, want twice (sent, then retried)", res.DeliveryID, ours)
	}
}
