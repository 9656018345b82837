package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWebhooksCircuitCLI sees an endpoint that fails every attempt open its breaker:
// webhooks show prints the circuit (closed, then open until a time), and /metrics counts
// the opening.
func TestWebhooksCircuitCLI(t *testing.T) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer rcv.Close()
	const token = "ops-admin-token-for-tests-0123456789"
	base, _ := startGateway(t, "--db", t.TempDir()+"/circuit.db", "--admin-token", token, "--allow-targets", "127.0.0.1")
	cli := func(args ...string) string {
		t.Helper()
		var out, errb syncBuffer
		if err := run(context.Background(), append(args, "--url", base, "--token", token), &out, &errb); err != nil {
			t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}
	openings := func() float64 {
		t.Helper()
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^polyhook_breaker_openings_total (\S+)$`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("no polyhook_breaker_openings_total in /metrics")
		}
		n, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	out := cli("webhooks", "create", "--endpoint", rcv.URL+"/hook", "--event", "user.created")
	m := regexp.MustCompile(`(?m)^([0-9a-f-]{36})\s`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("webhooks create: %s", out)
	}
	id := m[1]
	if out := cli("webhooks", "show", id); !strings.Contains(out, "Circuit: closed") {
		t.Errorf("webhooks show, no failure yet: %s", out)
	}
	before := openings()
	for range 5 {
		cli("publish", "--type", "user.created")
	}
	open := regexp.MustCompile(`Circuit: open until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out := cli("webhooks", "show", id)
		if open.MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the breaker never showed open: %s", out)
		}
	}
	if out := cli("webhooks", "show", id, "-o", "json"); !strings.Contains(out, `"circuit"`) || !strings.Contains(out, `"until"`) {
		t.Errorf("webhooks show -o json: %s", out)
	}
	// Counted once the replica that wrote the opening has its answer, a moment after.
	for deadline := time.Now().Add(5 * time.Second); openings() < before+1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("polyhook_breaker_openings_total rose by %v, want at least 1", openings()-before)
		}
	}
}
