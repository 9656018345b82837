package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// buildBinary compiles the gateway once per test run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "polyhook-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "polyhook")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// process is a gateway running as a separate process.
type process struct {
	cmd    *exec.Cmd
	addr   string
	logs   *syncBuffer
	exited chan struct{}
}

func startProcess(t *testing.T, dsn string, extra ...string) *process {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logs := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--db", dsn, "--admin-token", "crash-admin-token-for-tests-0123456789",
		"--allow-private-targets", "--rescue-after", "3s"}, extra...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, addr: addr, logs: logs, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill() })
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/v1/event-types"); err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("gateway exited at start:\n%s", logs.String())
		default:
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("gateway did not start:\n%s", logs.String())
		}
	}
}

func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

func (p *process) call(t *testing.T, method, path, auth, body string) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+p.addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

// TestCrashLosesNothing kills the gateway with SIGKILL while deliveries to a slow receiver
// are in flight, restarts it, and checks that every delivery arrives at least once and
// that duplicates carry the same webhook-id and body.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway as a process")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			var mu sync.Mutex
			bodies := map[string][]string{} // webhook-id -> bodies received
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				time.Sleep(150 * time.Millisecond) // slow: deliveries are in flight when the gateway dies
				mu.Lock()
				bodies[r.Header.Get("webhook-id")] = append(bodies[r.Header.Get("webhook-id")], string(body))
				mu.Unlock()
			}))
			defer rcv.Close()
			received := func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(bodies)
			}

			p := startProcess(t, dsn)
			var key struct{ APIKey string }
			_ = json.Unmarshal(p.call(t, "POST", "/v1/credentials", "Bearer crash-admin-token-for-tests-0123456789", `{"dialect":"fusionauth"}`), &key)
			for _, path := range []string{"/a", "/b"} {
				p.call(t, "POST", "/api/webhook", key.APIKey, `{"webhook":{"url":"`+rcv.URL+path+`","connectTimeout":1000,"readTimeout":5000,"global":true,"eventsEnabled":{"user.create":true}}}`)
			}
			const events = 40
			for i := 0; i < events; i++ {
				p.call(t, "POST", "/v1/events", "Bearer crash-admin-token-for-tests-0123456789", fmt.Sprintf(`{"id":"crash-%d","type":"user.created","data":{"n":%d}}`, i, i))
			}
			for start := time.Now(); received() < 5; time.Sleep(10 * time.Millisecond) {
				if time.Since(start) > 30*time.Second {
					t.Fatalf("no deliveries before the crash:\n%s", p.logs.String())
				}
			}
			p.kill()
			if received() >= 2*events {
				t.Fatalf("everything was delivered before the crash; the test proves nothing")
			}
			time.Sleep(3 * time.Second) // longer than --rescue-after: the dead process's jobs are stuck
			p2 := startProcess(t, dsn)
			defer p2.kill()

			db := openGatewayStore(t, dsn)
			var want []string
			for i := 0; i < events; i++ {
				ds, err := db.DeliveriesOfEvent(context.Background(), fmt.Sprintf("crash-%d", i))
				if err != nil || len(ds) != 2 {
					t.Fatalf("event %d: %v %v", i, ds, err)
				}
				for _, d := range ds {
					want = append(want, d.ID)
				}
			}
			deadline := time.Now().Add(90 * time.Second)
			for {
				mu.Lock()
				missing := 0
				for _, id := range want {
					if len(bodies[id]) == 0 {
						missing++
					}
				}
				mu.Unlock()
				if missing == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d deliveries never arrived after the restart:\n%s", missing, len(want), p2.logs.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			mu.Lock()
			dups := 0
			for id, bs := range bodies {
				for _, b := range bs[1:] {
					dups++
					if b != bs[0] {
						t.Errorf("duplicate of %s has another body:\n%s\n%s", id, bs[0], b)
					}
				}
			}
			if len(bodies) != len(want) {
				t.Errorf("receiver saw %d webhook-ids, want %d", len(bodies), len(want))
			}
			mu.Unlock()
			t.Logf("%d deliveries, %d duplicates after SIGKILL", len(want), dups)
			// A delivery whose body arrived before the crash but whose attempt was not yet
			// recorded is sent again once its claim runs out and the survivor's sweep (on
			// River's leader, elected after the dead one's lease) queues it: wait for that.
			recorded := time.Now().Add(60 * time.Second)
			for _, id := range want {
				for {
					d, err := db.GetDelivery(context.Background(), id)
					if err == nil && d.Status == store.DeliverySucceeded {
						break
					}
					if time.Now().After(recorded) {
						t.Errorf("delivery %s: %+v %v", id, d, err)
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
}

// TestTwoReplicasFailover runs two gateways on one PostgreSQL database: webhooks are
// registered through one, events published through both, one is killed with SIGKILL
// mid-flight, and every delivery still arrives at least once, through the survivor.
func TestTwoReplicasFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway as processes")
	}
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("needs TEST_DATABASE_URL (PostgreSQL)")
	}
	dsn := storetest.PostgresDSN(t)
	var mu sync.Mutex
	got := map[string]int{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		got[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer rcv.Close()
	a := startProcess(t, dsn)
	b := startProcess(t, dsn)
	var key struct{ APIKey string }
	_ = json.Unmarshal(a.call(t, "POST", "/v1/credentials", "Bearer crash-admin-token-for-tests-0123456789", `{"dialect":"fusionauth"}`), &key)
	for _, path := range []string{"/x", "/y"} {
		a.call(t, "POST", "/api/webhook", key.APIKey, `{"webhook":{"url":"`+rcv.URL+path+`","connectTimeout":1000,"readTimeout":5000,"global":true,"eventsEnabled":{"user.create":true}}}`)
	}
	const events = 60
	for i := 0; i < events; i++ {
		p := []*process{a, b}[i%2] // any replica serves any call
		p.call(t, "POST", "/v1/events", "Bearer crash-admin-token-for-tests-0123456789", fmt.Sprintf(`{"id":"fo-%d","type":"user.created","data":{"n":%d}}`, i, i))
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	for start := time.Now(); count() < 10; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("nothing delivered:\n%s\n%s", a.logs.String(), b.logs.String())
		}
	}
	a.kill()
	if count() >= 2*events {
		t.Fatal("everything was delivered before the kill; the test proves nothing")
	}
	deadline := time.Now().Add(90 * time.Second)
	for count() < 2*events {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries arrived after one replica died:\n%s", count(), 2*events, b.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The survivor answers for both: the events published through the dead one included.
	var ev struct{ Deliveries int }
	_ = json.Unmarshal(b.call(t, "GET", "/v1/events/fo-0", "Bearer crash-admin-token-for-tests-0123456789", ""), &ev)
	if ev.Deliveries != 2 {
		t.Errorf("event published through the dead replica: %+v", ev)
	}
}

// TestTwoReplicasKilledReplicasClaimsArriveSoon kills one of two replicas while it holds
// the claims of most of what was published through it, with --rescue-after far longer
// than the test: the survivor notices that the dead one's heartbeat stopped and sends its
// claims, the last within 15 s of the kill.
func TestTwoReplicasKilledReplicasClaimsArriveSoon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway as processes")
	}
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("needs TEST_DATABASE_URL (PostgreSQL)")
	}
	dsn := storetest.PostgresDSN(t)
	var mu sync.Mutex
	got := map[string]int{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second)
		mu.Lock()
		got[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer rcv.Close()
	a := startProcess(t, dsn, "--rescue-after", "10m")
	b := startProcess(t, dsn, "--rescue-after", "10m")
	var key struct{ APIKey string }
	_ = json.Unmarshal(a.call(t, "POST", "/v1/credentials", "Bearer crash-admin-token-for-tests-0123456789", `{"dialect":"fusionauth"}`), &key)
	for _, path := range []string{"/x", "/y"} {
		a.call(t, "POST", "/api/webhook", key.APIKey, `{"webhook":{"url":"`+rcv.URL+path+`","connectTimeout":1000,"readTimeout":5000,"global":true,"eventsEnabled":{"user.create":true}}}`)
	}
	const events = 80
	for i := 0; i < events; i++ {
		a.call(t, "POST", "/v1/events", "Bearer crash-admin-token-for-tests-0123456789", fmt.Sprintf(`{"id":"kr-%d","type":"user.created","data":{"n":%d}}`, i, i))
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	for start := time.Now(); count() < 10; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("nothing delivered:\n%s\n%s", a.logs.String(), b.logs.String())
		}
	}
	a.kill()
	killed := time.Now()
	if n := count(); n >= events {
		t.Fatalf("%d of %d delivered before the kill; the test proves nothing", n, 2*events)
	}
	for count() < 2*events {
		if time.Since(killed) > 60*time.Second {
			t.Fatalf("%d of %d deliveries arrived after one replica died:\n%s", count(), 2*events, b.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(killed)
	t.Logf("the last of %d deliveries arrived %s after the kill", 2*events, took.Round(10*time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("the dead replica's claims took %s to arrive, want at most 15 s", took)
	}
}
