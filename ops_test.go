package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
)

// TestOperatorCLI answers "what happened to event X for webhook Y, and fix it" with the
// command line alone, against a running gateway.
func TestOperatorCLI(t *testing.T) {
	var up atomic.Bool
	var got, gotW2 atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.WriteHeader(503)
			return
		}
		got.Add(1)
		if r.URL.Path == "/w2" {
			gotW2.Add(1)
		}
		_, _ = w.Write([]byte("thanks"))
	}))
	defer rcv.Close()
	dbPath := filepath.Join(t.TempDir(), "ops.db")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs syncBuffer
	go func() {
		done <- run(ctx, []string{"--addr", addr, "--db", dbPath, "--admin-token", "ops-admin-token-for-tests-0123456789", "--allow-targets", "127.0.0.1", "--max-attempts", "1"}, &logs, &logs)
	}()
	defer func() { cancel(); <-done }()
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("gateway did not start")
		}
	}
	cli := func(args ...string) (string, error) {
		var out, errb syncBuffer
		err := run(context.Background(), append(args, "--url", "http://"+addr, "--token", "ops-admin-token-for-tests-0123456789"), &out, &errb)
		return out.String() + errb.String(), err
	}
	// A FusionAuth webhook, created through the store so the test stays on the CLI.
	db := openGatewayStore(t, dbPath)
	w := &store.Webhook{Dialect: "fusionauth", ExternalID: "00000000-0000-4000-8000-00000000c0de", URL: rcv.URL, Enabled: true, Global: true, Events: []string{"user.create"}}
	if err := db.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if out, err := cli("publish", "--type", "user.created", "--id", "evt-ops"); err != nil || !strings.Contains(out, "1 delivery") {
		t.Fatalf("publish: %v %s", err, out)
	}
	var out string
	for start := time.Now(); !strings.Contains(out, "failed"); time.Sleep(50 * time.Millisecond) {
		out, _ = cli("deliveries", "list", "--event", "evt-ops")
		if time.Since(start) > 15*time.Second {
			t.Fatalf("the delivery never failed: %s", out)
		}
	}
	if !strings.Contains(out, "The endpoint answered 503.") {
		t.Errorf("deliveries list: %s", out)
	}
	ds, _ := db.DeliveriesOfEvent(context.Background(), "evt-ops")
	if out, err := cli("deliveries", "show", ds[0].ID); err != nil || !strings.Contains(out, "503") {
		t.Errorf("deliveries show: %v %s", err, out)
	}
	if out, err := cli("events", "list", "--type", "user.created"); err != nil || !strings.Contains(out, "evt-ops") {
		t.Errorf("events list: %v %s", err, out)
	}
	if out, err := cli("webhooks", "list"); err != nil || !strings.Contains(out, "failing since") {
		t.Errorf("webhooks list: %v %s", err, out)
	}

	if out, err := cli("deliveries", "list", "--event", "evt-ops", "-o", "json"); err != nil || !strings.Contains(out, `"status": "failed"`) {
		t.Errorf("deliveries list -o json: %v %s", err, out)
	}

	// The endpoint is back: a test send (by the gateway, with its --allow-targets: the
	// command has no delivery settings), then recover what failed.
	up.Store(true)
	if out, err := cli("webhooks", "test", w.ID); err != nil || !strings.Contains(out, "200") || !strings.Contains(out, "thanks") {
		t.Errorf("webhooks test: %v %s", err, out)
	}
	out, err := cli("webhooks", "recover", w.ID, "--since", "1h")
	if err != nil || !strings.Contains(out, "1 failed delivery") || !strings.Contains(out, "sent 1 of 1\n") ||
		!strings.Contains(out, "done: 1 sent, 1 succeeded, 0 failed again, 0 retrying") {
		t.Fatalf("webhooks recover: %v %s", err, out)
	}
	if strings.Contains(out, "\r") {
		t.Errorf("recover wrote terminal animation into a pipe: %q", out)
	}
	for start := time.Now(); got.Load() < 2; time.Sleep(20 * time.Millisecond) { // the test send and the recovered delivery
		if time.Since(start) > 15*time.Second {
			t.Fatalf("recovered delivery never arrived (%d requests)", got.Load())
		}
	}
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		d, _ := db.GetDelivery(context.Background(), ds[0].ID)
		if d.Status == store.DeliverySucceeded {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("delivery after recovery: %+v", d)
		}
	}
	if out, err := cli("deliveries", "retry", ds[0].ID); err != nil || !strings.Contains(out, "queued") {
		t.Errorf("deliveries retry: %v %s", err, out)
	}
	// A delivery still retrying (its webhook retries hourly) is skipped, and said to be;
	// --include-retrying sends it now.
	w2 := &store.Webhook{Dialect: "fusionauth", ExternalID: "00000000-0000-4000-8000-00000000c0df", URL: rcv.URL + "/w2", Enabled: true, Global: true,
		Events: []string{"user.create"}, Retry: &store.Retry{Enabled: true, Count: 3, Delay: 1, DelayUnit: "Hour"}}
	if err := db.CreateWebhook(context.Background(), w2); err != nil {
		t.Fatal(err)
	}
	up.Store(false)
	if out, err := cli("publish", "--type", "user.created", "--id", "evt-ops-2"); err != nil || !strings.Contains(out, "2 deliveries") {
		t.Fatalf("publish: %v %s", err, out)
	}
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		out, _ := cli("deliveries", "list", "--webhook", w2.ID, "-o", "json")
		if strings.Contains(out, `"attempts": 1`) && strings.Contains(out, `"nextAttemptAt"`) {
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("no retrying delivery: %s", out)
		}
	}
	up.Store(true)
	if out, err := cli("webhooks", "recover", w2.ID, "--since", "1h"); err != nil || !strings.Contains(out, "skipped 1 delivery still retrying") || !strings.Contains(out, "done: 0 sent") {
		t.Errorf("recover with a delivery still retrying: %v %s", err, out)
	}
	if out, err := cli("webhooks", "recover", w2.ID, "--since", "1h", "--include-retrying"); err != nil || !strings.Contains(out, "done: 1 sent, 1 succeeded, 0 failed again, 0 retrying") {
		t.Errorf("recover --include-retrying: %v %s", err, out)
	}
	if n := gotW2.Load(); n != 1 {
		t.Errorf("the second webhook's endpoint got %d successful requests from the recoveries, want 1", n)
	}

	for _, bad := range []struct {
		args []string
		exit int
	}{
		{[]string{"webhooks", "enable", "nope"}, 1},
		{[]string{"deliveries", "retry", "nope"}, 1},
		{[]string{"webhooks", "recover", w.ID}, 2},
		{[]string{"webhooks", "recover", w.ID, "--since", "yesterday"}, 2},
		{[]string{"deliveries", "frobnicate"}, 2},
	} {
		if out, err := cli(bad.args...); exitCode(err) != bad.exit {
			t.Errorf("%v: exit %d, want %d: %v %s", bad.args, exitCode(err), bad.exit, err, out)
		}
	}
}
