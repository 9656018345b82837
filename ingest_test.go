package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/server/xsolla"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
}

// receiver records what each path of it is sent.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string][]hit
}

func newHTTPReceiver(t *testing.T) *receiver {
	r := &receiver{hits: map[string][]hit{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits[req.URL.Path] = append(r.hits[req.URL.Path], hit{req.Header.Clone(), b})
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got(path string) []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits[path]...)
}

// wait returns path's hits once there are n.
func (r *receiver) wait(t *testing.T, path string, n int) []hit {
	t.Helper()
	for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(20 * time.Millisecond) {
		if h := r.got(path); len(h) >= n {
			return h
		}
	}
	t.Fatalf("%s got %d requests, want %d", path, len(r.got(path)), n)
	return nil
}

// bridgeGateway is a gateway run in this process, for the bridge's tests.
type bridgeGateway struct {
	base  string
	token string
	logs  *syncBuffer
}

func startBridgeGateway(t *testing.T, dsn string) *bridgeGateway {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	g := &bridgeGateway{base: "http://" + addr, token: "bridge-admin-token-for-tests-0123456789", logs: &syncBuffer{}}
	go func() {
		done <- run(ctx, []string{"--addr", addr, "--db", dsn, "--admin-token", g.token, "--allow-private-targets", "--max-body-bytes", "65536"}, g.logs, g.logs)
	}()
	t.Cleanup(func() { cancel(); <-done })
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(g.base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("gateway did not start: %s", g.logs.String())
		}
	}
	return g
}

// do sends a request and returns its status and body; headers are name-value pairs.
func (g *bridgeGateway) do(t *testing.T, method, path, body string, headers ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, g.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// admin calls the native API and decodes a 2xx answer into out.
func (g *bridgeGateway) admin(t *testing.T, method, path, body string, out any) {
	t.Helper()
	status, b := g.do(t, method, path, body, "Authorization", "Bearer "+g.token)
	if status >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

type sourceOut struct {
	ID, Dialect, URL, Secret string
}

func (g *bridgeGateway) source(t *testing.T, body string) sourceOut {
	var s sourceOut
	g.admin(t, "POST", "/v1/sources", body, &s)
	return s
}

// subscribe makes a native subscription and returns its id and whsec_ secret.
func (g *bridgeGateway) subscribe(t *testing.T, url string, events ...string) (string, string) {
	ev, _ := json.Marshal(events)
	var w struct{ ID, Secret string }
	g.admin(t, "POST", "/v1/webhooks", `{"url":"`+url+`","events":`+string(ev)+`}`, &w)
	return w.ID, w.Secret
}

// eventCount is how many events the gateway holds.
func (g *bridgeGateway) eventCount(t *testing.T) int {
	var out struct{ Total int }
	g.admin(t, "GET", "/v1/events?limit=1", "", &out)
	return out.Total
}

// signed is a vendor's webhook: its body and the headers it signs it with.
type signed struct {
	body    string
	headers []string
}

// vendor describes, for the tests, how one vendor sends an event.
type vendor struct {
	dialect string
	// event is a body of the event named native, tenant tenant, signed with secret.
	event func(secret, native, tenant string, n int) signed
	// sign signs any body with secret.
	sign func(secret, body string) []string
	// native is an event of the vendor with a canonical equivalent, canonical.
	native, canonical string
	// other is a dialect subscriber of another dialect, with its name for the event.
	other, otherName string
}

const bridgeProject = "6f1b2c3d-0000-4000-8000-0000000000aa"

var vendors = []vendor{
	{
		dialect: "fusionauth", native: "user.create", canonical: "user.created", other: "xsolla", otherName: "registration",
		event: func(secret, native, tenant string, n int) signed {
			body := fmt.Sprintf(`{"event":{"type":%q,"id":"1c9c0f6e-0000-4000-8000-%012d","createInstant":1765000000000,"tenantId":%q,"user":{"id":"u%d","email":"ada@example.com"}}}`, native, n, tenant, n)
			return signed{body, []string{"X-FusionAuth-Signature-JWT", faSign(secret, body)}}
		},
		sign: func(secret, body string) []string {
			return []string{"X-FusionAuth-Signature-JWT", faSign(secret, body)}
		},
	},
	{
		dialect: "xsolla", native: "registration", canonical: "user.created", other: "fusionauth", otherName: "user.create",
		event: func(secret, native, tenant string, n int) signed {
			body := fmt.Sprintf(`{"event_type":%q,"event_time":"2026-12-06T10:00:00Z","project_id":%q,"data":{"user":{"id":"u%d"}}}`, native, tenant, n)
			return signed{body, []string{"Authorization", "Signature " + hex.EncodeToString(xsolla.Signature([]byte(body), secret))}}
		},
		sign: func(secret, body string) []string {
			return []string{"Authorization", "Signature " + hex.EncodeToString(xsolla.Signature([]byte(body), secret))}
		},
	},
	{
		dialect: "nursa", native: "facility.user-connection.accepted", canonical: "group.member.added", other: "fusionauth", otherName: "group.member.add",
		event: func(secret, native, _ string, n int) signed {
			body := fmt.Sprintf(`{"data":{"facilityId":"NUR-1","userId":"u%d"},"eventType":%q}`, n, native)
			return signed{body, []string{"Nursa-Signature", nursa.Signature(time.Now().Unix(), []byte(body), []string{secret})}}
		},
		sign: func(secret, body string) []string {
			return []string{"Nursa-Signature", nursa.Signature(time.Now().Unix(), []byte(body), []string{secret})}
		},
	},
	{
		dialect: "authing", native: "user:created", canonical: "user.created", other: "fusionauth", otherName: "user.create",
		event: func(secret, native, tenant string, n int) signed {
			body := fmt.Sprintf(`{"eventName":%q,"data":{"user":{"id":"u%d"}}}`, native, n)
			return signed{body, []string{"X-Authing-Webhook-Secret", secret, "X-Authing-Userpool-Id", tenant}}
		},
		sign: func(secret, _ string) []string { return []string{"X-Authing-Webhook-Secret", secret} },
	},
}

// vendorsByName are the vendors by dialect.
var vendorsByName = func() map[string]vendor {
	m := map[string]vendor{}
	for _, v := range vendors {
		m[v.dialect] = v
	}
	return m
}()

// faSign is FusionAuth's X-FusionAuth-Signature-JWT of body with an HMAC secret.
func faSign(secret, body string) string {
	sum := sha256.Sum256([]byte(body))
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"request_body_sha256": base64.StdEncoding.EncodeToString(sum[:])}).SignedString([]byte(secret))
	return tok
}

// TestIngestEveryDialect posts each vendor's own signed webhooks to a source and checks
// what a user of the bridge relies on: a native subscriber and a subscriber of another
// dialect both receive the event, each signed in its own format; a redelivery creates
// nothing; a bad or missing signature is 401 and stores nothing; a malformed body is 400,
// a body too large 413; an event type outside the catalogue is kept and reaches its
// subscribers; an event never goes back to its source's own ingest URL.
func TestIngestEveryDialect(t *testing.T) {
	rcv := newHTTPReceiver(t)
	g := startBridgeGateway(t, t.TempDir()+"/bridge.db")

	// The subscribers of other dialects: a global FusionAuth webhook, signed with an HMAC
	// key, and an Xsolla one for the project.
	var key struct{ ID, Secret string }
	g.admin(t, "POST", "/v1/keys", `{"algorithm":"HS256"}`, &key)
	var fa struct{ APIKey string }
	g.admin(t, "POST", "/v1/credentials", `{"dialect":"fusionauth"}`, &fa)
	status, b := g.do(t, "POST", "/api/webhook", `{"webhook":{"url":"`+rcv.URL+`/fusionauth","connectTimeout":1000,"readTimeout":2000,"global":true,`+
		`"eventsEnabled":{"user.create":true,"group.member.add":true},"signatureConfiguration":{"enabled":true,"signingKeyId":"`+key.ID+`"}}}`, "Authorization", fa.APIKey)
	if status != 200 {
		t.Fatalf("fusionauth webhook: %d %s", status, b)
	}
	var xs struct{ ClientID, ClientSecret string }
	g.admin(t, "POST", "/v1/credentials", `{"dialect":"xsolla","projectIds":["`+bridgeProject+`"]}`, &xs)
	req, _ := http.NewRequest("POST", g.base+"/api/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "client_id": {xs.ClientID}, "client_secret": {xs.ClientSecret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var xtok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&xtok)
	resp.Body.Close()
	if status, b := g.do(t, "POST", "/api/projects/"+bridgeProject+"/events/registration/webhooks", `{"url":"`+rcv.URL+`/xsolla"}`, "X-SERVER-AUTHORIZATION", xtok.AccessToken); status != 200 {
		t.Fatalf("xsolla webhook: %d %s", status, b)
	}
	whsec := map[string]string{}
	var list struct {
		Webhooks []struct{ ID, Dialect string }
	}
	g.admin(t, "GET", "/v1/webhooks", "", &list)
	for _, w := range list.Webhooks {
		var s struct{ Secrets []struct{ Secret string } }
		g.admin(t, "GET", "/v1/webhooks/"+w.ID+"/secrets", "", &s)
		whsec[w.Dialect] = s.Secrets[0].Secret
	}
	verifyStandard := func(t *testing.T, h hit, secret string) {
		t.Helper()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(h.body, h.header); err != nil {
			t.Errorf("Standard Webhooks signature: %v", err)
		}
	}

	for i, v := range vendors {
		t.Run(v.dialect, func(t *testing.T) {
			n := i * 100
			tenant := bridgeProject
			if v.dialect == "authing" || v.dialect == "nursa" {
				tenant = "" // the source's
			}
			src := g.source(t, `{"dialect":"`+v.dialect+`","name":"`+v.dialect+`","tenant":"`+bridgeProject+`"}`)
			if src.URL != "/ingest/"+src.ID || src.Secret == "" || src.Dialect != v.dialect {
				t.Fatalf("source: %+v", src)
			}
			if v.dialect == "authing" {
				tenant = bridgeProject
			}
			nativePath := "/native-" + v.dialect
			_, nativeSecret := g.subscribe(t, rcv.URL+nativePath, v.canonical)
			// The loop guard: a subscription whose URL is this source's own ingest URL.
			loopID, _ := g.subscribe(t, g.base+src.URL, v.canonical)

			before := g.eventCount(t)
			ingest := func(s signed) (int, []byte) {
				return g.do(t, "POST", src.URL, s.body, s.headers...)
			}
			// Bad, missing and other-source signatures: 401, nothing stored.
			good := v.event(src.Secret, v.native, tenant, n+1)
			for name, s := range map[string]signed{
				"wrong secret":  v.event("not-the-secret", v.native, tenant, n+1),
				"no signature":  {good.body, nil},
				"body tampered": {strings.Replace(good.body, "u", "v", 1), good.headers},
			} {
				if v.dialect == "authing" && name == "body tampered" {
					continue // Authing signs nothing: its secret is sent in clear
				}
				if status, b := ingest(s); status != 401 || !strings.Contains(string(b), `"unauthorized"`) {
					t.Errorf("%s: %d %s", name, status, b)
				}
			}
			for _, bad := range []string{`{"nope":`, `[]`, `{"x":1}`} {
				if status, b := ingest(signed{bad, v.sign(src.Secret, bad)}); status != 400 || !strings.Contains(string(b), `"invalid"`) {
					t.Errorf("malformed %s: %d %s", bad, status, b)
				}
			}
			if got := g.eventCount(t); got != before {
				t.Fatalf("refused bodies stored %d events", got-before)
			}

			// A verified body: stored, acknowledged, delivered to both subscribers.
			status, b := ingest(good)
			var ack struct {
				ID, Type string
				Created  bool
			}
			if status != 200 || json.Unmarshal(b, &ack) != nil || !ack.Created || ack.Type != v.dialect+":"+v.native {
				t.Fatalf("ingest: %d %s", status, b)
			}
			if v.dialect == "fusionauth" && ack.ID != fmt.Sprintf("1c9c0f6e-0000-4000-8000-%012d", n+1) {
				t.Errorf("FusionAuth's event id %s is not kept: %s", fmt.Sprintf("1c9c0f6e-0000-4000-8000-%012d", n+1), ack.ID)
			}
			h := rcv.wait(t, nativePath, 1)[0]
			var sw struct {
				Type string
				Data map[string]any
			}
			if json.Unmarshal(h.body, &sw) != nil || sw.Type != v.canonical || sw.Data == nil {
				t.Errorf("native body: %s", h.body)
			}
			verifyStandard(t, h, nativeSecret)
			var other hit
			for start := time.Now(); other.body == nil && time.Since(start) < 15*time.Second; time.Sleep(20 * time.Millisecond) {
				for _, o := range rcv.got("/" + v.other) {
					if strings.Contains(string(o.body), fmt.Sprintf(`"u%d"`, n+1)) {
						other = o
					}
				}
			}
			if other.body == nil {
				t.Fatalf("the %s subscriber did not get the event", v.other)
			}
			if !strings.Contains(string(other.body), `"`+v.otherName+`"`) {
				t.Errorf("%s body: %s", v.other, other.body)
			}
			verifyStandard(t, other, whsec[v.other])
			if v.other == "fusionauth" {
				// Its own signature too: the gateway's FusionAuth ingest verifies it.
				fd := fusionauth.New(server.Deps{})
				if err := fd.Verify(&store.Source{Secrets: []string{key.Secret}}, other.header, other.body, time.Now()); err != nil {
					t.Errorf("X-FusionAuth-Signature-JWT: %v", err)
				}
			}

			// A redelivery creates nothing and sends nothing again.
			status, b = ingest(good)
			var again struct {
				ID      string
				Created bool
			}
			if status != 200 || json.Unmarshal(b, &again) != nil || again.Created || again.ID != ack.ID {
				t.Errorf("redelivery: %d %s", status, b)
			}
			if got := g.eventCount(t); got != before+1 {
				t.Errorf("%d events after a redelivery, want %d", got, before+1)
			}

			// An event outside the catalogue is kept and reaches a subscriber of it.
			unknown := "bridge.test-" + v.dialect
			unknownPath := "/unknown-" + v.dialect
			g.subscribe(t, rcv.URL+unknownPath, v.dialect+":"+unknown)
			if status, b := ingest(v.event(src.Secret, unknown, tenant, n+2)); status != 200 {
				t.Fatalf("unknown type: %d %s", status, b)
			}
			h = rcv.wait(t, unknownPath, 1)[0]
			if json.Unmarshal(h.body, &sw) != nil || sw.Type != v.dialect+":"+unknown {
				t.Errorf("unknown type delivered as %s", h.body)
			}

			// Too large: 413.
			big := v.event(src.Secret, v.native, tenant, n+3)
			big.body = `{"x":"` + strings.Repeat("a", 70<<10) + `"}`
			if status, _ := ingest(big); status != 413 {
				t.Errorf("too large: %d", status)
			}
			// Logged once the answer is written (a fixed message, since the id in the path
			// may name no source; held back when it repeats within a minute).
			for start := time.Now(); !strings.Contains(g.logs.String(), `msg="ingest refused: the body is too large" source=`); time.Sleep(10 * time.Millisecond) {
				if time.Since(start) > 5*time.Second {
					t.Errorf("the oversized body is not logged:\n%s", g.logs.String())
					break
				}
			}

			// The loop guard: the subscription at this source's URL got no delivery.
			var ds struct{ Total int }
			g.admin(t, "GET", "/v1/deliveries?webhookId="+loopID, "", &ds)
			if ds.Total != 0 {
				t.Errorf("the source's own ingest URL got %d deliveries", ds.Total)
			}
			for _, why := range []string{"the signature does not verify", "malformed body"} {
				if !strings.Contains(g.logs.String(), "ingest refused for "+src.ID+": "+why) {
					t.Errorf("%q is not logged with the source id", why)
				}
			}
		})
	}

	t.Run("UnknownSource", func(t *testing.T) {
		if status, b := g.do(t, "POST", "/ingest/src_nope", `{}`); status != 404 {
			t.Errorf("unknown source: %d %s", status, b)
		}
	})
}

// TestIngestCrashLosesNothing acknowledges every vendor's webhooks, kills the gateway with
// SIGKILL while their deliveries to a slow receiver are in flight, restarts it, and checks
// that every acknowledged event reaches the receiver and that the vendor's redelivery of
// one creates nothing after the restart.
func TestIngestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway as a process")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			var mu sync.Mutex
			got := map[string]int{} // webhook-id -> times received
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				time.Sleep(150 * time.Millisecond) // slow: deliveries are in flight when the gateway dies
				mu.Lock()
				got[r.Header.Get("webhook-id")]++
				mu.Unlock()
			}))
			defer rcv.Close()
			received := func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(got)
			}
			p := startProcess(t, dsn)
			var sources []vendor
			const admin = "Bearer crash-admin-token-for-tests-0123456789"
			p.call(t, "POST", "/v1/webhooks", admin, `{"url":"`+rcv.URL+`/n","events":["user.created","group.member.added"]}`)
			// Each vendor's signed webhooks, to a source of its own, in turn.
			ingest := func(p *process, url string, s signed) (created bool, id string) {
				t.Helper()
				req, _ := http.NewRequest("POST", "http://"+p.addr+url, strings.NewReader(s.body))
				req.Header.Set("Content-Type", "application/json")
				for i := 0; i+1 < len(s.headers); i += 2 {
					req.Header.Set(s.headers[i], s.headers[i+1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var ack struct {
					ID      string
					Created bool
				}
				if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&ack) != nil {
					t.Fatalf("ingest to %s: %d", url, resp.StatusCode)
				}
				return ack.Created, ack.ID
			}
			const events = 40
			urls := map[string]string{}
			for _, v := range vendors {
				var src sourceOut
				_ = json.Unmarshal(p.call(t, "POST", "/v1/sources", admin, `{"dialect":"`+v.dialect+`","tenant":"`+bridgeProject+`"}`), &src)
				urls[v.dialect] = src.URL
				v := v
				secret := src.Secret
				v.event = func(_, native, tenant string, n int) signed {
					return vendorsByName[v.dialect].event(secret, native, tenant, n)
				}
				sources = append(sources, v)
			}
			var ids []string
			var first signed
			for i := 0; i < events; i++ {
				v := sources[i%len(sources)]
				s := v.event("", v.native, bridgeProject, 1000+i)
				if i == 0 {
					first = s
				}
				_, id := ingest(p, urls[v.dialect], s)
				ids = append(ids, id)
			}
			for start := time.Now(); received() < 3; time.Sleep(10 * time.Millisecond) {
				if time.Since(start) > 30*time.Second {
					t.Fatalf("no deliveries before the crash:\n%s", p.logs.String())
				}
			}
			p.kill()
			if received() >= events {
				t.Fatalf("everything was delivered before the crash; the test proves nothing")
			}
			time.Sleep(3 * time.Second) // longer than --rescue-after
			p2 := startProcess(t, dsn)
			defer p2.kill()

			// The vendor redelivers one it was already answered for: nothing new.
			if again, _ := ingest(p2, urls[sources[0].dialect], first); again {
				t.Errorf("a redelivery after the restart made a new event")
			}
			db := openGatewayStore(t, dsn)
			var want []string
			for _, id := range ids {
				ds, err := db.DeliveriesOfEvent(context.Background(), id)
				if err != nil || len(ds) != 1 {
					t.Fatalf("event %s: %v %v", id, ds, err)
				}
				want = append(want, ds[0].ID)
			}
			for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				mu.Lock()
				missing := 0
				for _, id := range want {
					if got[id] == 0 {
						missing++
					}
				}
				mu.Unlock()
				if missing == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d acknowledged events never arrived after the restart:\n%s", missing, len(want), p2.logs.String())
				}
			}
		})
	}
}
