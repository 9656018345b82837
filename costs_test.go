package main

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The tests in this file drive a running gateway over HTTP with what an attacker can send
// and assert what it costs the process, from its own memory statistics. They are not
// parallel: the figures are the whole process's.

// costToken is a long admin token, as the gateway asks for.
const costToken = "cost-test-admin-token-0123456789abcdef"

// cost is what f cost the process: heap bytes still in use after a collection, bytes
// allocated on the way (garbage included) and stack memory taken from the system.
type cost struct {
	retained, allocated, stack int64
}

func measure(f func()) cost {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return cost{
		retained:  int64(after.HeapInuse) - int64(before.HeapInuse),
		allocated: int64(after.TotalAlloc - before.TotalAlloc),
		stack:     int64(after.StackSys) - int64(before.StackSys),
	}
}

func (c cost) String() string {
	return "retained " + mb(c.retained) + ", allocated " + mb(c.allocated) + ", stack " + mb(c.stack)
}

func mb(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB" }

// costGateway starts a gateway on a fresh SQLite file and returns a function that sends
// one request to it and returns the status.
func costGateway(t *testing.T) (base string, send func(method, path, contentType string, body []byte, header ...string) int) {
	t.Helper()
	base, logs := startGateway(t, "--db", filepath.Join(t.TempDir(), "polyhook.db"), "--admin-token", costToken)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway logs:\n%s", logs.String())
		}
	})
	return base, func(method, path, contentType string, body []byte, header ...string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
}

// Failed logins naming made-up credentials of a megabyte each, to every token endpoint
// that takes a caller's id: the failure budgets must not keep what the caller sent.
func TestCost_FailedLoginsWithHugeIDs(t *testing.T) {
	_, send := costGateway(t)
	id := func(i int) string { return strconv.Itoa(i) + strings.Repeat("x", 1<<20-64) }
	endpoints := []struct {
		path, contentType string
		body              func(id string) string
	}{
		{"/api/oauth2/token", "application/x-www-form-urlencoded", func(id string) string {
			return "grant_type=client_credentials&client_secret=wrong&client_id=" + id
		}},
		{"/oidc/oauth/token", "application/x-www-form-urlencoded", func(id string) string {
			return "grant_type=client_credentials&client_secret=wrong&client_id=" + id
		}},
		{"/api/v3/get-management-token", "application/json", func(id string) string {
			return `{"accessKeyId":"` + id + `","accessKeySecret":"wrong"}`
		}},
	}
	c := measure(func() {
		for _, e := range endpoints {
			statuses := map[int]int{}
			for i := 0; i < 300; i++ {
				statuses[send("POST", e.path, e.contentType, []byte(e.body(id(i))))]++
			}
			for s := range statuses {
				if s >= 500 {
					t.Errorf("%s: statuses %v", e.path, statuses)
				}
			}
			if statuses[429] == 0 {
				t.Errorf("%s: 300 failed logins from one address were never throttled: %v", e.path, statuses)
			}
		}
	})
	t.Logf("900 failed logins with 1 MB ids: %v", c)
	if c.retained > 20<<20 {
		t.Errorf("900 failed logins with 1 MB ids kept %s of heap", mb(c.retained))
	}
}
