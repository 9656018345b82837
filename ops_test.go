package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
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
	if err != nil || !strings.Contains(out, "1 failed delivery") || !strings.Contains(out, "attempted 0 of 1: 0 succeeded") ||
		!strings.Contains(out, "done: attempted 1 of 1: 1 succeeded, 0 failed again, 0 waiting for a retry") {
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
	if out, err := cli("webhooks", "recover", w2.ID, "--since", "1h"); err != nil || !strings.Contains(out, "skipped 1 delivery still retrying") || !strings.Contains(out, "done: attempted 0 of 0") {
		t.Errorf("recover with a delivery still retrying: %v %s", err, out)
	}
	if out, err := cli("webhooks", "recover", w2.ID, "--since", "1h", "--no-follow"); err != nil || !strings.Contains(out, "not following; its progress is at GET /v1/recoveries/") || strings.Contains(out, "attempted") {
		t.Errorf("recover --no-follow: %v %s", err, out)
	}
	if out, err := cli("webhooks", "recover", w2.ID, "--since", "1h", "--include-retrying"); err != nil || !strings.Contains(out, "done: attempted 1 of 1: 1 succeeded, 0 failed again, 0 waiting for a retry") {
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

// A recovery whose endpoint still fails says so: attempted is not succeeded, in the API
// and in the command's words (the console said "sent again" while all stayed pending).
func TestRecoveryOfAFailingEndpointSaysItFailedAgain(t *testing.T) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer rcv.Close()
	base, _ := startGateway(t, "--db", t.TempDir()+"/rec.db", "--admin-token", "rec-admin-token-for-tests-0123456789", "--allow-targets", "127.0.0.1", "--max-attempts", "1")
	cli := func(args ...string) string {
		t.Helper()
		out, err := runOut(append(args, "--url", base, "--token", "rec-admin-token-for-tests-0123456789")...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	id := regexp.MustCompile(`(?m)^([0-9a-f-]{36})\s`).FindStringSubmatch(cli("webhooks", "create", "--endpoint", rcv.URL, "--event", "user.created"))[1]
	cli("publish", "--type", "user.created")
	for start := time.Now(); !strings.Contains(cli("deliveries", "list", "--webhook", id), "failed"); time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 15*time.Second {
			t.Fatal("the delivery never failed")
		}
	}
	out := cli("webhooks", "recover", id, "--since", "1h")
	if !strings.Contains(out, "done: attempted 1 of 1: 0 succeeded, 1 failed again, 0 waiting for a retry") {
		t.Errorf("recover: %s", out)
	}
	rid := regexp.MustCompile(`recovery (\S+):`).FindStringSubmatch(out)[1]
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/recoveries/"+rid, nil)
	req.Header.Set("Authorization", "Bearer rec-admin-token-for-tests-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Progress map[string]int `json:"progress"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&r)
	if r.Progress["attempted"] != 1 || r.Progress["failedAgain"] != 1 || r.Progress["succeeded"] != 0 {
		t.Errorf("GET /v1/recoveries/%s progress: %v", rid, r.Progress)
	}
}

// A list whose count stopped at the gateway's cap says that more matched.
func TestShowing_SaysWhenMoreMatched(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		shown  int
		total  int64
		capped bool
		want   string
	}{
		{50, 50, false, ""},
		{50, 120, false, "(50 of 120 shown; --limit shows more)\n"},
		{50, 10000, true, "(50 of more than 10000 shown; --limit shows more)\n"},
	} {
		var b strings.Builder
		if err := showing(&b, c.shown, c.total, c.capped); err != nil || b.String() != c.want {
			t.Errorf("showing(%d, %d, %v) = %q (%v), want %q", c.shown, c.total, c.capped, b.String(), err, c.want)
		}
	}
}
