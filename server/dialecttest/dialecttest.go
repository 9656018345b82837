// Package dialecttest is the conformance suite every dialect runs: what a dialect owes the
// gateway, checked the same way for each. A dialect describes itself in a Dialect (how to
// build it, authenticate, reach its operations, read its envelope, subscribe) and calls
// Run from its own tests; what stays in the dialect's tests are its quirks.
//
// Run checks:
//   - the catalogue: the dialect delivers under its own name, and every name of its column
//     of the catalogue is one of its events;
//   - its encoder's golden files (Golden): the dialect pins at least one encoding;
//   - for a dialect that takes in its vendor's webhooks (Ingest): Decode undoes Encode on
//     every event of its column of the catalogue, as far as the format carries the
//     fields, its own signatures verify, and the vendor's documented examples decode;
//   - every status the spec declares for 401, 413 and 503, on every operation declaring it,
//     answered in the dialect's envelope (with Retry-After on a 503), and requests no route
//     takes (404, 405) answered as the dialect says;
//   - the body limit, announced and unannounced (an endless body is cut off);
//   - failed logins: past the budget a wrong credential is answered 429, with Retry-After,
//     in the envelope; a correct one is served all the same;
//   - webhook URLs: one the delivery policy refuses (a metadata address, a numeric host, a
//     loopback one) is answered in the dialect's validation envelope and makes no webhook;
//   - isolation across credentials, and delivery: on both backends a webhook made through
//     the dialect's API with one credential is not seen with another (unless the vendor's
//     credentials share every webhook), a canonical event published with its tenant reaches
//     it in the dialect's format with the Standard Webhooks headers and no other
//     credential's webhook, and the attempt's record keeps none of its secret headers.
//
// Its fuzz targets start from FuzzBodies besides their own seeds. Every answer is
// validated against the dialect's spec; Run returns the contract, for the
// dialect's own contract test to absorb before it requires every declared status seen.
package dialecttest

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// Dialect is what the suite needs to know of a dialect.
type Dialect struct {
	// New builds the dialect; it is its package's New.
	New func(server.Deps) server.Dialect
	// Spec returns the dialect's OpenAPI document (a fresh copy each call).
	Spec func() (*openapi3.T, error)
	// Credential is the request the i-th credential of a test is minted with; two
	// credentials of different i must not share their webhooks' scope.
	Credential func(i int) server.CredentialRequest
	// Auth returns the headers, as name-value pairs, of a request made with m; it may
	// exchange m for a token at base.
	Auth func(t testing.TB, base string, m *server.MintedCredential) []string
	// Params fill the spec's path parameters by name ("x" for the others).
	Params map[string]string
	// Request is the request a client sends to op at base: with headers (auth from Auth),
	// or unauthenticated when headers is nil, and body ("" for a body the operation
	// takes). An operation that exchanges a credential for a token carries m's id and
	// secret instead of headers, or a wrong secret when headers is nil.
	Request func(t testing.TB, base string, op servertest.Operation, m *server.MintedCredential, headers []string, body string) *http.Request
	// Envelope fails the test unless body is the dialect's error envelope for status.
	Envelope func(t testing.TB, status int, body []byte)
	// Unrouted are requests no route takes (paths under the dialect's prefixes, methods
	// its routes lack) and how the dialect answers them.
	Unrouted []Unrouted
	// WrongLogin is a login with m's id and a wrong secret, answered LoginFailed.
	WrongLogin  func(t testing.TB, base string, m *server.MintedCredential) *http.Request
	LoginFailed int
	// Create is the request that creates, through the dialect's API with auth (m's), a
	// webhook at url subscribed to native, one of the dialect's event names, and the
	// tenant an event must be published with to reach it. Created is the status of its
	// success; Invalid, the status its envelope carries for a refused url (Envelope).
	Create  func(t testing.TB, base string, auth []string, m *server.MintedCredential, url, native string) (req *http.Request, tenant string)
	Created int
	Invalid int
	// Count is how many webhooks a client with auth (m's) sees through the dialect's API.
	Count func(t testing.TB, base string, auth []string, m *server.MintedCredential) int
	// Shared is set when the vendor's credentials all see every webhook (FusionAuth's API
	// keys are not scoped): isolation is then the tenants', in delivery only.
	Shared bool
	// Golden are the dialect's pinned encodings; there must be at least one.
	Golden []Golden
	// Ingest describes the vendor's format, for a dialect that takes in its vendor's own
	// webhooks (server.Ingester).
	Ingest *Ingest
}

// Golden is one pinned encoding: Message, encoded by the dialect, is the body in File, has
// each header of Headers with the value in the file it names, and each of Want with that
// value. Run with POLYHOOK_UPDATE_GOLDEN=1 to rewrite the files.
type Golden struct {
	File    string
	Message delivery.Message
	Headers map[string]string
	Want    map[string]string
}

// FuzzBodies are request bodies every dialect's fuzz targets start from, besides their
// own: empty, malformed, of the wrong JSON type, with NUL bytes and invalid UTF-8, deeply
// nested, and over servertest.FuzzBodyLimit announced (even length) and not (odd length).
func FuzzBodies() []string {
	return []string{
		"", "{", "}", "null", "[]", "0", `"x"`, "{}", `{"":""}`, "\x00", "\xff\xfe", `{"a":"\u0000"}`,
		strings.Repeat("[", 1000) + strings.Repeat("]", 1000),
		strings.Repeat("a", servertest.FuzzBodyLimit+2), strings.Repeat("a", servertest.FuzzBodyLimit+1),
	}
}

// Unrouted is a request no route takes and the dialect's answer: its HTTP status, the
// spec's components.responses entry it matches, and the error status its envelope carries
// (Code, when it differs from Status: dialects that answer errors in the body of a 200).
type Unrouted struct {
	Method, Path string
	Status       int
	Response     string
	Code         int
}

// Limit is the body limit of the servers the suite starts: small, so that an oversized
// body is sent whole before the answer.
const Limit = 4 << 10

// gateway is the dialect served on its own, with an engine.
type gateway struct {
	url      string
	db       *store.DB
	dialect  server.Dialect
	engine   *delivery.Engine
	contract *servertest.Contract
}

// start serves the dialect on db, with failed logins throttled by logins, webhook URLs
// checked against targets (nil: none), and an engine that trusts the receivers roots.
func (d *Dialect) start(t *testing.T, db *store.DB, logins *server.Logins, targets server.TargetPolicy, roots ...*httptest.Server) *gateway {
	t.Helper()
	keys, err := server.NewKeys("dialecttest-master-key")
	if err != nil {
		t.Fatal(err)
	}
	log := servertest.Logger(t)
	// Deliveries go to HTTPS receivers (some vendors take no other URL), which it trusts.
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r.Certificate())
	}
	engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log, Sender: delivery.SenderOptions{AllowPrivateTargets: true, RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	dl := d.New(server.Deps{DB: db, Keys: keys, Log: log, Logins: logins, Engine: engine, Targets: targets})
	engine.Register(dl.Encoder())
	srv := server.New(log)
	srv.MaxBodyBytes = Limit
	srv.Register(dl)
	u := servertest.Serve(t, srv)
	spec, err := d.Spec()
	if err != nil {
		t.Fatal(err)
	}
	return &gateway{url: u, db: db, dialect: dl, engine: engine, contract: servertest.NewContract(t, spec, u)}
}

func (g *gateway) mint(t testing.TB, req server.CredentialRequest) *server.MintedCredential {
	t.Helper()
	m, err := g.dialect.MintCredential(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Run runs the suite on d and returns the contract of everything it sent.
func Run(t *testing.T, d Dialect) *servertest.Contract {
	spec, err := d.Spec()
	if err != nil {
		t.Fatal(err)
	}
	all := servertest.NewContract(t, spec, "http://127.0.0.1")
	t.Run("Catalogue", func(t *testing.T) { d.catalogue(t) })
	t.Run("Golden", func(t *testing.T) { d.golden(t) })
	t.Run("Ingest", func(t *testing.T) { d.ingest(t) })
	t.Run("Unauthenticated", func(t *testing.T) {
		g := d.start(t, storetest.Open(t), nil, nil)
		m := g.mint(t, d.Credential(0))
		if len(g.contract.Operations(401, d.Params)) == 0 {
			t.Skip("no operation declares 401")
		}
		bodies := g.contract.EachOperation(t, 401, false, d.Params, func(op servertest.Operation) *http.Request {
			return d.Request(t, g.url, op, m, nil, "")
		})
		for id, b := range bodies {
			t.Run(id, func(t *testing.T) { d.Envelope(t, 401, b) })
		}
		all.Absorb(g.contract)
	})
	t.Run("Unrouted", func(t *testing.T) {
		g := d.start(t, storetest.Open(t), nil, nil)
		m := g.mint(t, d.Credential(0))
		auth := d.Auth(t, g.url, m)
		for _, u := range d.Unrouted {
			req := servertest.Request(t, u.Method, g.url+u.Path, "", auth...)
			code := u.Code
			if code == 0 {
				code = u.Status
			}
			if _, b := g.contract.DoUnrouted(t, req, u.Status, u.Response); len(b) > 0 {
				d.Envelope(t, code, b)
			}
		}
		all.Absorb(g.contract)
	})
	t.Run("BodyLimit", func(t *testing.T) {
		g := d.start(t, storetest.Open(t), nil, nil)
		m := g.mint(t, d.Credential(0))
		auth := d.Auth(t, g.url, m)
		big := `{"x":"` + strings.Repeat("a", Limit) + `"}`
		ops := g.contract.Operations(413, d.Params)
		if len(ops) == 0 {
			t.Fatal("no operation declares 413: every route is bounded and must say so")
		}
		bodies := g.contract.EachOperation(t, 413, false, d.Params, func(op servertest.Operation) *http.Request {
			return d.Request(t, g.url, op, m, auth, big)
		})
		for _, b := range bodies {
			d.Envelope(t, 413, b)
		}
		// A body that never ends is cut off at the limit, on every POST (the other methods
		// may answer an unknown id before they read).
		for _, op := range ops {
			if op.Method != http.MethodPost {
				continue
			}
			req := d.Request(t, g.url, op, m, auth, "")
			req.Body, req.ContentLength = nil, -1
			status, b, sent := servertest.Endless(t, req)
			if status != 413 || sent > 32<<20 {
				t.Errorf("%s with an endless body: %d %s after %d bytes", op.ID, status, b, sent)
				continue
			}
			d.Envelope(t, 413, b)
		}
		all.Absorb(g.contract)
	})
	t.Run("FailedLogins", func(t *testing.T) {
		const budget = 3
		g := d.start(t, storetest.Open(t), server.NewLogins(budget, time.Hour), nil)
		m, other := g.mint(t, d.Credential(0)), g.mint(t, d.Credential(1))
		for i := 0; i < budget; i++ {
			resp, b := g.contract.Do(t, d.WrongLogin(t, g.url, m))
			if resp.StatusCode != d.LoginFailed {
				t.Fatalf("failed login %d: %d %s, want %d", i+1, resp.StatusCode, b, d.LoginFailed)
			}
			d.Envelope(t, 401, b)
		}
		resp, b := g.contract.Do(t, d.WrongLogin(t, g.url, m))
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("past the budget: %d %s (Retry-After %q)", resp.StatusCode, b, resp.Header.Get("Retry-After"))
		} else {
			d.Envelope(t, 429, b)
		}
		// Correct credentials are served all the same, this one and another.
		for _, c := range []*server.MintedCredential{m, other} {
			if n := d.Count(t, g.url, d.Auth(t, g.url, c), c); n != 0 {
				t.Errorf("a new credential sees %d webhooks", n)
			}
		}
		all.Absorb(g.contract)
	})
	t.Run("Outage", func(t *testing.T) {
		storetest.EachOutage(t, func(t *testing.T, db *store.DB, cut func()) {
			g := d.start(t, db, nil, nil)
			m := g.mint(t, d.Credential(0))
			auth := d.Auth(t, g.url, m)
			cut()
			bodies := g.contract.EachOperation(t, 503, true, d.Params, func(op servertest.Operation) *http.Request {
				return d.Request(t, g.url, op, m, auth, "")
			})
			for _, b := range bodies {
				d.Envelope(t, 503, b)
			}
			all.Absorb(g.contract)
		})
	})
	t.Run("RefusedTargets", func(t *testing.T) {
		g := d.start(t, storetest.Open(t), nil, delivery.NewTargets(false, nil))
		m := g.mint(t, d.Credential(0))
		auth := d.Auth(t, g.url, m)
		native := d.firstNative(t, g)
		// A literal metadata address, a numeric host resolvers read as loopback, loopback.
		for _, u := range []string{"https://169.254.169.254/latest/meta-data", "https://0x7f000001/", "https://[::1]/"} {
			req, _ := d.Create(t, g.url, auth, m, u, native)
			_, b := g.contract.Do(t, req)
			d.Envelope(t, d.Invalid, b)
		}
		if n := d.Count(t, g.url, auth, m); n != 0 {
			t.Errorf("%d webhooks were made at refused addresses", n)
		}
		// A name is not resolved when the webhook is written: it is checked when dialled.
		d.subscribe(t, g, auth, m, "https://hooks.example.com/x", native)
		all.Absorb(g.contract)
	})
	t.Run("IsolationAndDelivery", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			d.delivery(t, db, all)
		})
	})
	return all
}

// catalogue checks the dialect's column of the catalogue against its own event names.
func (d *Dialect) catalogue(t *testing.T) {
	dl := d.New(server.Deps{})
	enc := dl.Encoder()
	if enc.Dialect() != dl.Name() {
		t.Errorf("the dialect %s delivers as %q", dl.Name(), enc.Dialect())
	}
	canonical := map[string]bool{}
	for _, c := range delivery.Catalogue {
		canonical[c.Name] = true
	}
	if len(enc.Events()) == 0 {
		t.Errorf("%s has no canonical event: canonical publishes never reach it", dl.Name())
	}
	if _, ok := enc.(delivery.Scoper); !ok {
		t.Errorf("%s's encoder has no scope rule (delivery.Scoper): which tenants' events reach its webhooks is its to say", dl.Name())
	}
	for name, natives := range enc.Events() {
		if !canonical[name] {
			t.Errorf("%s's column names %q, which is not a canonical event", dl.Name(), name)
		}
		for _, n := range natives {
			if !enc.Known(n) {
				t.Errorf("%s's column lists %q under %s, which is not one of its events", dl.Name(), n, name)
			}
		}
	}
}

// receiver records the requests an endpoint receives.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got, r.body = append(r.got, req), append(r.body, b)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// delivery makes a webhook with each of two credentials, checks that neither sees the
// other's, and publishes the first canonical event of the dialect's column with the
// first's tenant: it reaches the first webhook alone, and its attempt keeps no secret.
func (d *Dialect) delivery(t *testing.T, db *store.DB, all *servertest.Contract) {
	ra, rb := newReceiver(t), newReceiver(t)
	g := d.start(t, db, nil, nil, ra.Server, rb.Server)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		stop, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = g.engine.Stop(stop)
		cancel()
	})
	if err := g.engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var canonical string
	var natives []string
	for _, c := range delivery.Catalogue {
		if ns := g.dialect.Encoder().Events()[c.Name]; len(ns) > 0 {
			canonical, natives = c.Name, ns
			break
		}
	}
	if canonical == "" {
		t.Fatal("the dialect has no canonical event")
	}
	a, b := g.mint(t, d.Credential(0)), g.mint(t, d.Credential(1))
	authA, authB := d.Auth(t, g.url, a), d.Auth(t, g.url, b)
	tenant := d.subscribe(t, g, authA, a, ra.URL+"/a", natives[0])
	d.subscribe(t, g, authB, b, rb.URL+"/b", natives[0])
	if !d.Shared {
		if n := d.Count(t, g.url, authA, a); n != 1 {
			t.Errorf("the first credential sees %d webhooks, want its own", n)
		}
		if n := d.Count(t, g.url, authB, b); n != 1 {
			t.Errorf("the second credential sees %d webhooks, want its own", n)
		}
	}
	ev, _, err := g.engine.Publish(ctx, delivery.PublishInput{Type: canonical, Tenant: tenant, Data: []byte(`{"user": {"id": "u-1", "email": "a@example.com"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ra.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ra.count() != 1 {
		t.Fatalf("%s published with tenant %q: the subscribed webhook got %d requests", canonical, tenant, ra.count())
	}
	req := ra.got[0]
	for _, h := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		if req.Header.Get(h) == "" {
			t.Errorf("the delivery lacks %s", h)
		}
	}
	// The attempt is recorded, with no secret header's value.
	var attempts []store.Attempt
	for time.Now().Before(deadline) {
		ds, err := g.db.DeliveriesOfEvent(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(ds))
		for i := range ds {
			ids[i] = ds[i].ID
		}
		byDelivery, err := g.db.AttemptsOf(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		attempts = attempts[:0]
		for _, as := range byDelivery {
			attempts = append(attempts, as...)
		}
		if len(attempts) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(attempts) != 1 {
		t.Fatalf("%d attempts recorded, want 1", len(attempts))
	}
	// The record's body is the body sent (its row may keep it without the event's data).
	ra.mu.Lock()
	sent := string(ra.body[0])
	ra.mu.Unlock()
	if attempts[0].RequestBody != sent {
		t.Errorf("the attempt records the body %q, sent %q", attempts[0].RequestBody, sent)
	}
	secret := append([]string{"Webhook-Signature"}, g.dialect.Encoder().SecretHeaders()...)
	for k, v := range attempts[0].RequestHeaders {
		if slices.ContainsFunc(secret, func(s string) bool { return strings.EqualFold(s, k) }) && v != store.RedactedValue {
			t.Errorf("the attempt keeps %s: %q", k, v)
		}
	}
	// Whatever the dialect declares, no header of the record holds one of the webhook's
	// secrets.
	dl, err := g.db.GetDelivery(ctx, attempts[0].DeliveryID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := g.db.WebhookByID(ctx, dl.WebhookID)
	if err != nil {
		t.Fatal(err)
	}
	secrets := append([]string{}, w.Secrets...)
	for _, s := range w.SigningSecrets {
		secrets = append(secrets, s.Secret)
	}
	for k, v := range attempts[0].RequestHeaders {
		for _, s := range secrets {
			if s != "" && strings.Contains(v, s) {
				t.Errorf("the attempt keeps a secret of the webhook in %s", k)
			}
		}
	}
	for _, s := range g.dialect.Encoder().SecretHeaders() {
		if req.Header.Get(s) != "" && attempts[0].RequestHeaders[http.CanonicalHeaderKey(s)] == "" {
			t.Errorf("the attempt does not name %s, which was sent", s)
		}
	}
	// The other credential's webhook got nothing.
	time.Sleep(100 * time.Millisecond)
	if n := rb.count(); n != 0 {
		t.Errorf("an event of the first credential's tenant reached the second's webhook %d times", n)
	}
	all.Absorb(g.contract)
}

// golden checks the dialect's pinned encodings.
func (d *Dialect) golden(t *testing.T) {
	if len(d.Golden) == 0 {
		t.Fatal("the dialect pins no encoding: give it a Golden")
	}
	keys, err := server.NewKeys("dialecttest-master-key")
	if err != nil {
		t.Fatal(err)
	}
	enc := d.New(server.Deps{DB: storetest.Open(t), Keys: keys, Log: servertest.Logger(t)}).Encoder()
	for _, g := range d.Golden {
		m := g.Message
		body, h, err := enc.Encode(&m)
		if err != nil {
			t.Fatalf("%s: %v", g.File, err)
		}
		servertest.Golden(t, g.File, body)
		if h.Get("Content-Type") == "" {
			t.Errorf("%s: the encoding has no Content-Type", g.File)
		}
		for name, file := range g.Headers {
			servertest.Golden(t, file, []byte(h.Get(name)))
		}
		for name, v := range g.Want {
			if got := h.Get(name); got != v {
				t.Errorf("%s: %s is %q, want %q", g.File, name, got, v)
			}
		}
	}
}

// subscribe creates a webhook with d.Create, through the contract, and returns its tenant.
func (d *Dialect) subscribe(t *testing.T, g *gateway, auth []string, m *server.MintedCredential, url, native string) string {
	t.Helper()
	req, tenant := d.Create(t, g.url, auth, m, url, native)
	if resp, b := g.contract.Do(t, req); resp.StatusCode != d.Created {
		t.Fatalf("create a webhook at %s: %d %s", url, resp.StatusCode, b)
	}
	return tenant
}

// firstNative is the dialect's name of the first canonical event it has one for.
func (d *Dialect) firstNative(t *testing.T, g *gateway) string {
	for _, c := range delivery.Catalogue {
		if ns := g.dialect.Encoder().Events()[c.Name]; len(ns) > 0 {
			return ns[0]
		}
	}
	t.Fatal("the dialect has no canonical event")
	return ""
}
