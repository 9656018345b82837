package native_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
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

	url := startGateway(t, storetest.Open(t))
	rcv := newReceiver(t)
	out := servertest.Node(t, dir, "test/gateway.test.mjs",
		"POLYHOOK_URL="+url, "POLYHOOK_ADMIN_TOKEN="+token, "RECEIVER_URL="+rcv.URL)
	var res struct {
		Secret, DeliveryID, Retried, FusionauthID string
		Webhooks                                  int
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Retried != "pending" || res.FusionauthID == "" || res.Webhooks != 2 {
		t.Fatalf("the SDK test printed %s (%v)", out, err)
	}
	wh, err := standardwebhooks.NewWebhook(res.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rcv.wait(t, "/ts", 2) { // the delivery and its retry
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("request %d does not verify with the secret the SDK was given: %v", i, err)
		}
		if r.header.Get("webhook-id") != res.DeliveryID {
			t.Errorf("request %d: webhook-id %q, want %q", i, r.header.Get("webhook-id"), res.DeliveryID)
		}
	}
}
