package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// An operator at the default level sees, once each, an endpoint start failing, its
// breaker open and close, a delivery given up and a webhook the gateway disabled, each
// with the webhook's id, its dialect and what the endpoint answered.
func TestDeliveryFailuresAreLogged(t *testing.T) {
	var answer atomic.Int32
	answer.Store(http.StatusInternalServerError)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(answer.Load()))
	}))
	defer rcv.Close()
	base, logs := startGateway(t, "--db", t.TempDir()+"/logs.db", "--admin-token", "ops-admin-token-for-tests-0123456789", "--allow-targets", "127.0.0.1",
		"--max-attempts", "1", "--log-format", "json")
	cli := func(args ...string) string {
		t.Helper()
		out, err := runOut(append(args, "--url", base, "--token", "ops-admin-token-for-tests-0123456789")...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	out := cli("webhooks", "create", "--endpoint", rcv.URL, "--event", "user.created")
	id := regexp.MustCompile(`(?m)^([0-9a-f-]{36})\s`).FindStringSubmatch(out)[1]

	lines := func(msg string) []map[string]any {
		var found []map[string]any
		for _, l := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
				found = append(found, m)
			}
		}
		return found
	}
	waitFor := func(msg string) map[string]any {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if l := lines(msg); len(l) > 0 {
				return l[0]
			}
		}
		t.Fatalf("no %q line:\n%s", msg, logs.String())
		return nil
	}
	for i := 0; i < 6; i++ {
		cli("publish", "--type", "user.created")
	}
	for _, msg := range []string{"endpoint started failing", "endpoint failing: breaker open, attempts paused (5 failed in a row)", "delivery given up"} {
		l := waitFor(msg)
		if l["webhook"] != id || l["dialect"] != "standard" || l["status"] != float64(500) {
			t.Errorf("%q line: %v", msg, l)
		}
		if l["level"] != "INFO" {
			t.Errorf("%q at %v", msg, l["level"])
		}
	}
	if n := len(lines("endpoint started failing")); n != 1 {
		t.Errorf("%d lines for an endpoint starting to fail, want 1", n)
	}
	answer.Store(http.StatusOK)
	cli("publish", "--type", "user.created") // held until the pause ends, then the probe
	if l := waitFor("endpoint answering again: breaker closed"); l["webhook"] != id || l["status"] != float64(200) {
		t.Errorf("breaker closed line: %v", l)
	}
	answer.Store(http.StatusGone)
	cli("publish", "--type", "user.created")
	if l := waitFor("webhook disabled by the gateway"); l["webhook"] != id || l["dialect"] != "standard" || !strings.Contains(fmt.Sprint(l["why"]), "410") {
		t.Errorf("disabled line: %v", l)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("an endpoint's failures logged as the gateway's errors:\n%s", logs.String())
	}
}

// A warning or an error that repeats is logged once, then once a minute with how many
// times it was held back; a job queue's line about the stop cancelling it is debug.
func TestRepeatedFailuresAreSummarised(t *testing.T) {
	var buf bytes.Buffer
	log := (&logFlags{LogLevel: "info", LogFormat: "json"}).logger(&buf)
	h := log.Handler()
	at := time.Now()
	emit := func(d time.Duration, msg string) {
		rec := slog.NewRecord(at.Add(d), slog.LevelError, msg, 0)
		rec.AddAttrs(slog.String("err", "unable to open database file"))
		if err := h.Handle(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 300; i++ { // a minute of a 200 ms poll
		emit(time.Duration(i)*200*time.Millisecond, "claiming the deliveries due for a retry")
	}
	emit(time.Second, "another failure")
	emit(61*time.Second, "claiming the deliveries due for a retry")
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(got) != 3 || !strings.Contains(got[2], `"repeated":299`) || !strings.Contains(got[1], "another failure") {
		t.Fatalf("logged:\n%s", buf.String())
	}

	buf.Reset()
	river := log.With("component", "river")
	river.Error("maintenance.PeriodicJobEnqueuer: Error starting transaction", "error", context.Canceled)
	river.Error("producer: Error fetching jobs", "error", "disk I/O error")
	if strings.Contains(buf.String(), "PeriodicJobEnqueuer") || !strings.Contains(buf.String(), "disk I/O error") {
		t.Errorf("river's lines at info:\n%s", buf.String())
	}
}

// Every answer carries a request id, the client's when it sent one; the request line at
// debug has it, and its duration in milliseconds.
func TestRequestIDs(t *testing.T) {
	base, logs := startGateway(t, "--db", t.TempDir()+"/rid.db", "--admin-token", "ops-admin-token-for-tests-0123456789", "--log-level", "debug", "--log-format", "json")
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/webhooks/wh_nope", nil)
	req.Header.Set("Authorization", "Bearer ops-admin-token-for-tests-0123456789")
	req.Header.Set("X-Request-Id", "client-id-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("X-Request-Id") != "client-id-42" {
		t.Errorf("%d, X-Request-Id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	resp, err = http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !regexp.MustCompile(`^req_[0-9a-f]{24}$`).MatchString(resp.Header.Get("X-Request-Id")) {
		t.Errorf("generated X-Request-Id %q", resp.Header.Get("X-Request-Id"))
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), `"request_id":"client-id-42"`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no request line with the id:\n%s", logs.String())
		}
	}
	if !regexp.MustCompile(`"msg":"request".*"duration_ms":[0-9.]+,"request_id":"client-id-42"`).MatchString(logs.String()) || strings.Contains(logs.String(), `"duration":`) {
		t.Errorf("request line:\n%s", logs.String())
	}
}
