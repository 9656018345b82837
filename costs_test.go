package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server"
)

// The tests in this file drive a running gateway over HTTP with what an attacker can send
// and assert what it costs the process, from its own memory statistics. They are not
// parallel: the figures are the whole process's.

// costToken is a long admin token, as the gateway asks for.
const costToken = "cost-test-admin-token-0123456789abcdef"

// cost is what f cost the process: heap bytes still in use after a collection, bytes
// allocated on the way (garbage included), stack memory taken from the system, and CPU
// time (user and system, every goroutine's: wall time would measure the machine's load).
type cost struct {
	retained, allocated, stack int64
	cpu                        time.Duration
}

func measure(f func()) cost {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu := cpuTime()
	f()
	cpu = cpuTime() - cpu
	runtime.GC()
	runtime.ReadMemStats(&after)
	return cost{
		retained:  int64(after.HeapInuse) - int64(before.HeapInuse),
		allocated: int64(after.TotalAlloc - before.TotalAlloc),
		stack:     int64(after.StackSys) - int64(before.StackSys),
		cpu:       cpu,
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memory is what the request took in memory at most: all it allocated and the stack.
func (c cost) memory() int64 { return c.allocated + max(c.stack, 0) }

func (c cost) String() string {
	return "retained " + mb(c.retained) + ", allocated " + mb(c.allocated) + ", stack " + mb(c.stack) + ", CPU " + c.cpu.Round(time.Millisecond).String()
}

// slow reports whether c took more CPU than d. Under the race detector, which slows every
// loop over the bytes of a body tenfold or more, CPU time says nothing about the
// algorithm, and only the memory bounds are checked.
func (c cost) slow(d time.Duration) bool { return !raceEnabled && c.cpu > d }

// decodeCPU is the least CPU time decoding body as JSON took this process in three
// tries: the least any JSON API does with the body, measured on this machine now. A
// budget given as a multiple of it holds on a day the machine runs at half its speed
// (its speed changes from day to day: a 1 MiB merge patch kept under a fixed 200 ms
// budget until it took 214-280 ms on a day the bench's forwarder, too, used twice its
// usual CPU per request), and still catches a cost out of proportion to the request's
// size, which grows many times over.
func decodeCPU(body []byte) time.Duration {
	least := time.Duration(1<<63 - 1)
	for range 3 {
		var v any
		c := cpuTime()
		_ = json.Unmarshal(body, &v)
		least = min(least, cpuTime()-c)
	}
	return least
}

// underRace is n, or a tenth of it under the race detector: enough for the memory a request
// keeps to show, in a time the race detector allows.
func underRace(n int) int {
	if raceEnabled {
		return n / 10
	}
	return n
}

func mb(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB" }

// costGateway starts a gateway on a fresh SQLite file and returns a function that sends
// one request to it and returns the status.
func costGateway(t *testing.T) (base string, send func(method, path, contentType string, body []byte, header ...string) int) {
	t.Helper()
	base, call := costGatewayCall(t)
	return base, func(method, path, contentType string, body []byte, header ...string) int {
		t.Helper()
		status, _ := call(method, path, contentType, body, header...)
		return status
	}
}

// costGatewayCall is costGateway with the answer's body too.
func costGatewayCall(t *testing.T) (base string, call func(method, path, contentType string, body []byte, header ...string) (int, []byte)) {
	t.Helper()
	base, logs := startGateway(t, "--db", filepath.Join(t.TempDir(), "polyhook.db"), "--admin-token", costToken)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway logs:\n%s", logs.String())
		}
	})
	return base, func(method, path, contentType string, body []byte, header ...string) (int, []byte) {
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
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
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
			for i := 0; i < underRace(300); i++ {
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
	t.Logf("%d failed logins with 1 MB ids: %v", 3*underRace(300), c)
	if c.retained > 20<<20 {
		t.Errorf("%d failed logins with 1 MB ids kept %s of heap", 3*underRace(300), mb(c.retained))
	}
}

// mint creates a credential through the native API and returns its fields.
func mint(t *testing.T, base, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/credentials", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+costToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 201 {
		t.Fatalf("mint %s: %d %v", body, resp.StatusCode, err)
	}
	return out
}

// oauthToken is the access token a client-credentials grant answers with.
func oauthToken(t *testing.T, base, path, clientID, secret string) string {
	t.Helper()
	resp, err := http.PostForm(base+path, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("token from %s: %d %v", path, resp.StatusCode, err)
	}
	return out.AccessToken
}

// A Nursa client's malformed body: a megabyte of "[", whose error message is rebuilt
// the way Node's JSON.parse words it.
func TestCost_NursaDeepMalformedBody(t *testing.T) {
	base, send := costGateway(t)
	nu := mint(t, base, `{"dialect":"nursa"}`)
	token := oauthToken(t, base, "/oidc/oauth/token", nu["clientId"].(string), nu["clientSecret"].(string))
	body := bytes.Repeat([]byte("["), 1<<20)
	var status int
	c := measure(func() {
		status = send("POST", "/api/v2/public/webhooks/user", "application/json", body, "Authorization", "Bearer "+token)
	})
	t.Logf("a 1 MiB body of '[': %d, %v", status, c)
	if status != 400 {
		t.Errorf("status %d, want 400", status)
	}
	if c.memory() > 10<<20 || c.slow(100*time.Millisecond) {
		t.Errorf("a 1 MiB body of '[' cost %v; want under 10 MB and %v", c, 100*time.Millisecond)
	}
}

// A FusionAuth merge patch of a megabyte, all of it top-level keys.
func TestCost_FusionAuthMergePatch(t *testing.T) {
	base, send := costGateway(t)
	key := mint(t, base, `{"dialect":"fusionauth"}`)["apiKey"].(string)
	if s := send("POST", "/api/webhook/00000000-0000-4000-8000-000000000001", "application/json",
		[]byte(`{"webhook":{"url":"https://example.com/h","connectTimeout":1000,"readTimeout":2000,"global":true}}`),
		"Authorization", key); s != 200 {
		t.Fatalf("create: %d", s)
	}
	var b strings.Builder
	b.WriteString(`{"webhook":{"description":"patched"}`)
	keys := 0
	for ; b.Len() < 1<<20-16; keys++ {
		fmt.Fprintf(&b, `,"k%d":1`, keys)
	}
	b.WriteString("}")
	var status int
	budget := 10 * decodeCPU([]byte(b.String()))
	c := measure(func() {
		status = send("PATCH", "/api/webhook/00000000-0000-4000-8000-000000000001", "application/merge-patch+json",
			[]byte(b.String()), "Authorization", key)
	})
	t.Logf("a merge patch of %d bytes, %d keys: %d, %v (CPU budget %v)", b.Len(), keys, status, c, budget)
	if status != 200 {
		t.Errorf("status %d, want 200", status)
	}
	if c.slow(budget) || c.memory() > 64<<20 {
		t.Errorf("a 1 MiB merge patch cost %v; want under %v (ten times decoding it) and 64 MB", c, budget)
	}
}

// A FusionAuth JSON patch of a megabyte: 26,000 "add" operations on one object.
func TestCost_FusionAuthJSONPatch(t *testing.T) {
	base, send := costGateway(t)
	key := mint(t, base, `{"dialect":"fusionauth"}`)["apiKey"].(string)
	if s := send("POST", "/api/webhook/00000000-0000-4000-8000-000000000001", "application/json",
		[]byte(`{"webhook":{"url":"https://example.com/h","connectTimeout":1000,"readTimeout":2000,"global":true}}`),
		"Authorization", key); s != 200 {
		t.Fatalf("create: %d", s)
	}
	var b strings.Builder
	b.WriteString(`[{"op":"add","path":"/webhook/description","value":"patched"}`)
	ops := 1
	for ; b.Len() < 1<<20-64; ops++ {
		fmt.Fprintf(&b, `,{"op":"add","path":"/webhook/k%d","value":1}`, ops)
	}
	b.WriteString("]")
	var status int
	budget := 10 * decodeCPU([]byte(b.String()))
	c := measure(func() {
		status = send("PATCH", "/api/webhook/00000000-0000-4000-8000-000000000001", "application/json-patch+json",
			[]byte(b.String()), "Authorization", key)
	})
	t.Logf("a JSON patch of %d bytes, %d operations: %d, %v (CPU budget %v)", b.Len(), ops, status, c, budget)
	if status != 200 {
		t.Errorf("status %d, want 200", status)
	}
	if c.slow(budget) || c.memory() > 64<<20 {
		t.Errorf("a 1 MiB JSON patch cost %v; want under %v (ten times decoding it) and 64 MB", c, budget)
	}
}

// Signed Authing requests with nonces of half a megabyte: the replay cache keeps each
// for up to half an hour and must not keep what the caller sent.
func TestCost_AuthingNonces(t *testing.T) {
	base, _ := costGateway(t)
	au := mint(t, base, `{"dialect":"authing"}`)
	ak, sk := au["accessKeyId"].(string), au["accessKeySecret"].(string)
	list := func(nonce string) int {
		h := map[string]string{
			"date":                        time.Now().UTC().Format(http.TimeFormat),
			"x-authing-signature-method":  "HMAC-SHA1",
			"x-authing-signature-nonce":   nonce,
			"x-authing-signature-version": "1.0",
		}
		toSign := "GET\n"
		for _, k := range []string{"date", "x-authing-signature-method", "x-authing-signature-nonce", "x-authing-signature-version"} {
			toSign += k + ":" + h[k] + "\n"
		}
		toSign += "/api/v3/list-webhooks?limit=10&page=1"
		m := hmac.New(sha1.New, []byte(sk))
		m.Write([]byte(toSign))
		req, _ := http.NewRequest("GET", base+"/api/v3/list-webhooks?page=1&limit=10", nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		req.Header.Set("Authorization", "authing "+ak+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// Authing answers HTTP 200 with the status in its envelope.
		var envelope struct {
			StatusCode int `json:"statusCode"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&envelope); err != nil || resp.StatusCode != 200 {
			t.Fatalf("list-webhooks: %d %v", resp.StatusCode, err)
		}
		return envelope.StatusCode
	}
	if s := list("short"); s != 200 {
		t.Fatalf("a signed request: %d", s)
	}
	if s := list("short"); s != 401 {
		t.Fatalf("its replay: %d, want 401", s)
	}
	c := measure(func() {
		for i := 0; i < underRace(100); i++ {
			if s := list(strconv.Itoa(i) + strings.Repeat("n", 512<<10)); s != 200 {
				t.Fatalf("signed request %d: %d", i, s)
			}
		}
	})
	t.Logf("%d signed requests with 512 KiB nonces: %v", underRace(100), c)
	if c.retained > 10<<20 {
		t.Errorf("%d signed requests with 512 KiB nonces kept %s of heap", underRace(100), mb(c.retained))
	}
}

// Every route that takes a JSON body, sent the deepest nesting it accepts (encoding/json's
// 10,000 levels, or the gateway's own 1,000 on FusionAuth and the native API), one level
// more, and a megabyte of "[": each costs less than 10 MB and 100 ms of CPU.
func TestCost_DeepestNestingOnEveryJSONRoute(t *testing.T) {
	base, call := costGatewayCall(t)
	field := func(b []byte, path ...string) string {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		return v.(string)
	}
	const project = "a1b2c3d4-0000-4000-8000-00000000000a"
	admin := []string{"Authorization", "Bearer " + costToken}
	fusionauth := []string{"Authorization", mint(t, base, `{"dialect":"fusionauth"}`)["apiKey"].(string)}
	xs := mint(t, base, `{"dialect":"xsolla","projectIds":["`+project+`"]}`)
	xsolla := []string{"X-SERVER-AUTHORIZATION", "Bearer " + oauthToken(t, base, "/api/oauth2/token", xs["clientId"].(string), xs["clientSecret"].(string))}
	nu := mint(t, base, `{"dialect":"nursa"}`)
	nursa := []string{"Authorization", "Bearer " + oauthToken(t, base, "/oidc/oauth/token", nu["clientId"].(string), nu["clientSecret"].(string))}
	au := mint(t, base, `{"dialect":"authing"}`)
	_, b := call("POST", "/api/v3/get-management-token", "application/json",
		[]byte(`{"accessKeyId":"`+au["accessKeyId"].(string)+`","accessKeySecret":"`+au["accessKeySecret"].(string)+`"}`))
	authing := []string{"Authorization", "Bearer " + field(b, "data", "access_token"), "x-authing-userpool-id", au["userPoolId"].(string)}

	const faID = "00000000-0000-4000-8000-000000000001"
	if s, b := call("POST", "/api/webhook/"+faID, "application/json", []byte(`{"webhook":{"url":"https://example.com/h","connectTimeout":1000,"readTimeout":2000,"global":true}}`), fusionauth...); s != 200 {
		t.Fatalf("FusionAuth webhook: %d %s", s, b)
	}
	s, b := call("POST", "/api/v2/public/webhooks/user", "application/json", []byte(`{"url":"https://example.com/n","events":["all"]}`), nursa...)
	if s != 201 && s != 200 {
		t.Fatalf("Nursa webhook: %d %s", s, b)
	}
	nuID := field(b, "data", "id")
	s, b = call("POST", "/v1/webhooks", "application/json", []byte(`{"url":"https://example.com/v","events":["user.created"]}`), admin...)
	if s != 201 {
		t.Fatalf("native webhook: %d %s", s, b)
	}
	nativeID := field(b, "id")

	// Bodies nested to depth levels in all: in a top-level member, or where a route's
	// decoder looks.
	nest := func(levels int) string { return strings.Repeat("[", levels) + strings.Repeat("]", levels) }
	member := func(depth int) string { return `{"x":` + nest(depth-1) + `}` }
	inWebhook := func(depth int) string { return `{"webhook":{"x":` + nest(depth-2) + `}}` }
	inData := func(depth int) string { return `{"type":"user.created","data":{"x":` + nest(depth-2) + `}}` }
	inPatch := func(depth int) string { return `[{"op":"add","path":"/webhook/x","value":` + nest(depth-2) + `}]` }
	const (
		goDepth      = 10_000            // encoding/json's limit, which Authing, Nursa and Xsolla keep
		gatewayDepth = server.MaxNesting // Jackson's, which FusionAuth and the native API keep
	)
	routes := []struct {
		method, path, contentType string
		header                    []string
		limit                     int
		body                      func(depth int) string
	}{
		{"POST", "/api/v3/get-management-token", "application/json", nil, goDepth, member},
		{"POST", "/api/v3/create-webhook", "application/json", authing, goDepth, member},
		{"POST", "/api/v3/update-webhook", "application/json", authing, goDepth, member},
		{"POST", "/api/v3/delete-webhook", "application/json", authing, goDepth, member},
		{"POST", "/api/v3/get-webhook-logs", "application/json", authing, goDepth, member},
		{"POST", "/api/v3/trigger-webhook", "application/json", authing, goDepth, member},
		{"POST", "/api/webhook", "application/json", fusionauth, gatewayDepth, inWebhook},
		{"POST", "/api/webhook/search", "application/json", fusionauth, gatewayDepth, member},
		{"POST", "/api/webhook/00000000-0000-4000-8000-000000000002", "application/json", fusionauth, gatewayDepth, inWebhook},
		{"PUT", "/api/webhook/" + faID, "application/json", fusionauth, gatewayDepth, inWebhook},
		{"PATCH", "/api/webhook/" + faID, "application/json", fusionauth, gatewayDepth, inWebhook},
		{"PATCH", "/api/webhook/" + faID, "application/merge-patch+json", fusionauth, gatewayDepth, inWebhook},
		{"PATCH", "/api/webhook/" + faID, "application/json-patch+json", fusionauth, gatewayDepth, inPatch},
		{"POST", "/api/system/webhook-event-log/search", "application/json", fusionauth, gatewayDepth, member},
		{"POST", "/oidc/oauth/token", "application/json", nil, goDepth, member},
		{"POST", "/api/v2/public/webhooks/user", "application/json", nursa, goDepth, member},
		{"PATCH", "/api/v2/public/webhooks/user/" + nuID, "application/json", nursa, goDepth, member},
		{"POST", "/v1/credentials", "application/json", admin, gatewayDepth, member},
		{"POST", "/v1/webhooks", "application/json", admin, gatewayDepth, member},
		{"PATCH", "/v1/webhooks/" + nativeID, "application/json", admin, gatewayDepth, member},
		{"POST", "/v1/webhooks/" + nativeID + "/secrets/rotate", "application/json", admin, gatewayDepth, member},
		{"POST", "/v1/events", "application/json", admin, gatewayDepth, inData},
		{"POST", "/v1/webhooks/" + nativeID + "/recover", "application/json", admin, gatewayDepth, member},
		{"POST", "/v1/webhooks/" + nativeID + "/test", "application/json", admin, gatewayDepth, member},
		{"POST", "/v1/keys", "application/json", admin, gatewayDepth, member},
		{"POST", "/api/projects/" + project + "/events/registration/webhooks", "application/json", xsolla, goDepth, member},
		// unsigned: refused before the source is read, or as not signed
		{"POST", "/ingest/src_made_up", "application/json", nil, gatewayDepth, member},
	}
	megabyte := bytes.Repeat([]byte("["), 1<<20-1)
	for _, r := range routes {
		for _, body := range []struct {
			name string
			text []byte
		}{
			{"deepest", []byte(r.body(r.limit))}, {"one deeper", []byte(r.body(r.limit + 1))}, {"1 MiB of [", megabyte},
		} {
			var status int
			var answer []byte
			c := measure(func() {
				status, answer = call(r.method, r.path, r.contentType, body.text, r.header...)
			})
			t.Logf("%s %s (%s), %s: %d, %v", r.method, r.path, r.contentType, body.name, status, c)
			if status >= 500 || body.name == "one deeper" && r.limit == gatewayDepth && status != 400 {
				t.Errorf("%s %s, %s: %d %.300s", r.method, r.path, body.name, status, answer)
			}
			if c.memory() > 10<<20 || c.slow(100*time.Millisecond) {
				t.Errorf("%s %s (%s), %s cost %v; want under 10 MB and %v", r.method, r.path, r.contentType, body.name, c, 100*time.Millisecond)
			}
		}
	}
}

// FusionAuth's searches turn their terms into SQL LIKE patterns: a term of any length,
// wildcards and all, is answered in FusionAuth's envelope, never by the database's limit.
func TestCost_FusionAuthSearchTerms(t *testing.T) {
	base, send := costGateway(t)
	key := mint(t, base, `{"dialect":"fusionauth"}`)["apiKey"].(string)
	if s := send("POST", "/api/webhook", "application/json",
		[]byte(`{"webhook":{"url":"https://example.com/`+strings.Repeat("a", 2000)+`","connectTimeout":1000,"readTimeout":2000,"global":true,"description":"`+strings.Repeat("a", 255)+`"}}`),
		"Authorization", key); s != 200 {
		t.Fatalf("create: %d", s)
	}
	for _, n := range []int{1000, 30_000, 400_000} {
		term := strings.Repeat("*a", n) + "b"
		want := 200
		if len(term) > 2048 {
			want = 400
		}
		for _, search := range []struct{ path, body string }{
			{"/api/webhook/search", `{"search":{"url":"` + term + `"}}`},
			{"/api/webhook/search", `{"search":{"description":"` + term + `"}}`},
			{"/api/system/webhook-event-log/search", `{"search":{"event":"` + term + `"}}`},
		} {
			var status int
			c := measure(func() {
				status = send("POST", search.path, "application/json", []byte(search.body), "Authorization", key)
			})
			t.Logf("%s, a term of %d wildcards: %d, %v", search.path, n, status, c)
			if status != want || c.memory() > 10<<20 || c.slow(100*time.Millisecond) {
				t.Errorf("%s, a term of %d wildcards: %d, cost %v; want %d under 10 MB and %v", search.path, n, status, c, want, 100*time.Millisecond)
			}
		}
	}
}

// Lists in a request body are checked in time linear in their length: a native webhook
// naming 60,000 distinct events, past the 256 allowed. (Decoding a megabyte of short
// strings takes some 10 MB by itself.)
func TestCost_LongLists(t *testing.T) {
	_, call := costGatewayCall(t)
	var events strings.Builder
	for i := 0; events.Len() < 1<<20-100; i++ {
		if i > 0 {
			events.WriteString(",")
		}
		fmt.Fprintf(&events, `"fusionauth:x%d"`, i)
	}
	body := []byte(`{"url":"https://example.com/v","events":[` + events.String() + `]}`)
	var status int
	c := measure(func() {
		status, _ = call("POST", "/v1/webhooks", "application/json", body, "Authorization", "Bearer "+costToken)
	})
	t.Logf("a native webhook naming %d KiB of distinct events: %d, %v", len(body)>>10, status, c)
	if status != 400 || c.memory() > 32<<20 || c.slow(100*time.Millisecond) {
		t.Errorf("a native webhook naming %d KiB of distinct events: %d, cost %v; want 400 under 32 MB and 100ms", len(body)>>10, status, c)
	}
}
