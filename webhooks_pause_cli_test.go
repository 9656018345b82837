package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWebhooksPauseCLI pauses a webhook with the command line, sees an event published
// meanwhile wait, unsent, and arrive once it is resumed.
func TestWebhooksPauseCLI(t *testing.T) {
	arrived := make(chan struct{}, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
	}))
	defer rcv.Close()
	const token = "ops-admin-token-for-tests-0123456789"
	base, _ := startGateway(t, "--db", t.TempDir()+"/pause.db", "--admin-token", token, "--allow-targets", "127.0.0.1")
	cli := func(args ...string) (string, error) {
		t.Helper()
		var out, errb syncBuffer
		err := run(context.Background(), append(args, "--url", base, "--token", token), &out, &errb)
		return out.String() + errb.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := cli(args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	out := must("webhooks", "create", "--endpoint", rcv.URL+"/hook", "--event", "user.created")
	m := regexp.MustCompile(`(?m)^([0-9a-f-]{36})\s`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("webhooks create: %s", out)
	}
	id := m[1]
	if out := must("webhooks", "pause", id); !strings.Contains(out, "paused "+id) {
		t.Errorf("webhooks pause: %s", out)
	}
	if out := must("webhooks", "show", id); !strings.Contains(out, "paused since") {
		t.Errorf("webhooks show of a paused webhook: %s", out)
	}
	if out := must("publish", "--type", "user.created"); !strings.Contains(out, "1 delivery") {
		t.Fatalf("publish to a paused webhook: %s", out)
	}
	select {
	case <-arrived:
		t.Fatal("a paused webhook's delivery was sent")
	case <-time.After(1500 * time.Millisecond):
	}
	if out := must("webhooks", "resume", id); !strings.Contains(out, "resumed "+id) {
		t.Errorf("webhooks resume: %s", out)
	}
	select {
	case <-arrived:
	case <-time.After(15 * time.Second):
		t.Fatal("the delivery that waited never arrived")
	}
	if out := must("webhooks", "show", id); !strings.Contains(out, "active") {
		t.Errorf("webhooks show after resume: %s", out)
	}
	if out, err := cli("webhooks", "pause", "nope"); err == nil {
		t.Errorf("pausing an unknown webhook succeeded: %s", out)
	}
}
