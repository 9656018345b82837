package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a real HTTP endpoint that records what arrives and answers with respond.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(n int, w http.ResponseWriter) // n counts requests from 1
	arrived chan struct{}
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter)) *receiver {
	r := &receiver{respond: respond, arrived: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body, time.Now()})
		n := len(r.got)
		r.mu.Unlock()
		if r.respond != nil {
			r.respond(n, w)
		}
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

// requestsOf returns the requests that carry one of the given deliveries' ids: a test's
// own, apart from any another test's engine sent to an earlier receiver on the same port.
func (r *receiver) requestsOf(ds []store.Delivery) []received {
	ids := map[string]bool{}
	for _, d := range ds {
		ids[d.ID] = true
	}
	var out []received
	for _, q := range r.requests() {
		if ids[q.header.Get("Webhook-Id")] {
			out = append(out, q)
		}
	}
	return out
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) wait(t *testing.T, n int, within time.Duration) []received {
	t.Helper()
	deadline := time.After(within)
	for len(r.requests()) < n {
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("got %d requests, want %d", len(r.requests()), n)
		}
	}
	return r.requests()
}

type harness struct {
	db     *store.DB
	engine *delivery.Engine
	clock  *delivery.TestClock // the engine's, when the test gave it one
}

// start runs an engine that may deliver to loopback, where the test receivers listen.
func start(t *testing.T, db *store.DB, cfg delivery.Config) *harness {
	t.Helper()
	cfg.Sender.AllowPrivateTargets = true
	return startGuarded(t, db, cfg)
}

// startGuarded runs an engine with cfg's SSRF settings as given.
func startGuarded(t *testing.T, db *store.DB, cfg delivery.Config) *harness {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	e, err := delivery.New(drivers.For(db), cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := server.NewKeys("delivery-test-master-key")
	if err != nil {
		t.Fatal(err)
	}
	e.Register(secondsEncoder{fusionauth.New(server.Deps{DB: db, Keys: keys, Log: cfg.Log}).Encoder()})
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = e.Stop(stopCtx)
		cancel()
	})
	clock, _ := cfg.Clock.(*delivery.TestClock)
	return &harness{db: db, engine: e, clock: clock}
}

func (h *harness) webhook(t *testing.T, url string, edit func(w *store.Webhook)) *store.Webhook {
	t.Helper()
	w := &store.Webhook{
		Dialect: "fusionauth", ExternalID: uuid.NewString(),
		URL: url, Enabled: true, Global: true, Events: []string{"user.create"},
		ConnectTimeout: 1000, ReadTimeout: 2000,
	}
	if edit != nil {
		edit(w)
	}
	if err := h.db.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

func (h *harness) publish(t *testing.T, in delivery.PublishInput) *store.Event {
	t.Helper()
	ev, _, err := h.engine.Publish(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// settled waits until every delivery of the event leaves pending and returns them.
func (h *harness) settled(t *testing.T, eventID string, within time.Duration) []store.Delivery {
	t.Helper()
	var ds []store.Delivery
	eventually(t, within, func() bool {
		var err error
		if ds, err = h.db.DeliveriesOfEvent(context.Background(), eventID); err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Status == store.DeliveryPending {
				return false
			}
		}
		return true
	}, func() string { return fmt.Sprintf("deliveries still pending: %+v", ds) })
	return ds
}

// quiet waits until the engine has nothing left to do at its clock's present time
// (Engine.Quiet): what a test asserts then does not change until the clock moves.
func (h *harness) quiet(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.engine.Quiet(ctx); err != nil {
		t.Fatalf("the engine did not quieten: %v", err)
	}
}

// drain moves the engine's clock a second at a time, letting the engine do what each
// second asks (quiet), until no delivery of evs is pending.
func (h *harness) drain(t *testing.T, evs []*store.Event) {
	t.Helper()
	for range 600 {
		h.quiet(t)
		pending := false
		for _, ev := range evs {
			ds, err := h.db.DeliveriesOfEvent(context.Background(), ev.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				pending = pending || d.Status == store.DeliveryPending
			}
		}
		if !pending {
			return
		}
		h.clock.Advance(time.Second)
	}
	t.Fatal("deliveries still pending after ten minutes by the engine's clock")
}

// eventually waits up to within for cond, looking every few milliseconds; past that it
// fails the test with what.
func eventually(t *testing.T, within time.Duration, cond func() bool, what func() string) {
	t.Helper()
	if cond() {
		return
	}
	deadline := time.After(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-deadline:
			t.Fatal(what())
		case <-tick.C:
			if cond() {
				return
			}
		}
	}
}

func TestDeliver_SignedAndInFormat(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := start(t, db, delivery.Config{})
		rcv := newReceiver(t, nil)
		w := h.webhook(t, rcv.URL+"/hook", func(w *store.Webhook) {
			w.Headers = map[string]string{"X-Custom": "yes"}
			w.BasicAuthUser, w.BasicAuthPassword = "u", "p"
		})
		ev := h.publish(t, delivery.PublishInput{ID: "evt-1", Type: "user.created", Tenant: "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80", Data: json.RawMessage(`{"user":{"email":"a@example.com"}}`)})
		if ev.Deliveries != 1 {
			t.Fatalf("deliveries = %d, want 1", ev.Deliveries)
		}
		got := rcv.wait(t, 1, 10*time.Second)[0]
		var body struct {
			Event map[string]any `json:"event"`
		}
		if err := json.Unmarshal(got.body, &body); err != nil {
			t.Fatalf("body %s: %v", got.body, err)
		}
		if body.Event["type"] != "user.create" || body.Event["id"] != fusionauth.EventID("evt-1") || body.Event["tenantId"] != "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80" || body.Event["user"] == nil || body.Event["createInstant"] == nil {
			t.Errorf("FusionAuth envelope: %s", got.body)
		}
		if got.header.Get("X-Custom") != "yes" || got.header.Get("Content-Type") != "application/json" {
			t.Errorf("headers: %v", got.header)
		}
		if u, p, ok := (&http.Request{Header: got.header}).BasicAuth(); !ok || u != "u" || p != "p" {
			t.Errorf("basic auth: %q %q %v", u, p, ok)
		}
		verifier, err := standardwebhooks.NewWebhook(w.SigningSecrets[0].Secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifier.Verify(got.body, got.header); err != nil {
			t.Errorf("Standard Webhooks signature: %v (headers %v)", err, got.header)
		}
		ds := h.settled(t, ev.ID, 5*time.Second)
		if ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != 1 || got.header.Get("webhook-id") != ds[0].ID {
			t.Errorf("delivery: %+v, webhook-id %q", ds[0], got.header.Get("webhook-id"))
		}
		as, _ := db.Attempts(context.Background(), ds[0].ID)
		if len(as) != 1 || as[0].ResponseStatus != 200 || as[0].RequestHeaders["Authorization"] != "[redacted]" || as[0].RequestHeaders["Webhook-Signature"] != "[redacted]" {
			t.Errorf("attempt record: %+v", as)
		}

		// Publishing the same id again creates nothing.
		again, created, err := h.engine.Publish(context.Background(), delivery.PublishInput{ID: "evt-1", Type: "user.created"})
		if err != nil || created || again.ID != "evt-1" || again.Deliveries != 1 {
			t.Errorf("idempotent publish: %+v %v %v", again, created, err)
		}
		h.quiet(t)
		if n := len(rcv.requests()); n != 1 {
			t.Errorf("receiver got %d requests after a repeated publish, want 1", n)
		}
	})
}

// A custom header HTTP cannot carry (FusionAuth stores names such as "Header 1") is left
// out of the request and named in the attempt's record; the delivery still goes out with
// every header that can be sent.
func TestDeliver_HeadersHTTPCannotCarry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := start(t, db, delivery.Config{})
		rcv := newReceiver(t, nil)
		h.webhook(t, rcv.URL+"/hook", func(w *store.Webhook) {
			w.Headers = map[string]string{
				"Header 1": "value 1", "Header 2": "value 2", "X-Fine": "yes",
				"X-Split": "a\r\nX-Injected: 1", "X-Tab": "a\tb",
			}
		})
		ev := h.publish(t, delivery.PublishInput{Type: "user.created", Data: json.RawMessage(`{}`)})
		got := rcv.wait(t, 1, 10*time.Second)[0]
		if got.header.Get("X-Fine") != "yes" || got.header.Get("X-Tab") != "a\tb" {
			t.Errorf("headers HTTP can carry were not sent: %v", got.header)
		}
		for _, k := range []string{"Header 1", "Header 2", "X-Split", "X-Injected"} {
			if _, ok := got.header[http.CanonicalHeaderKey(k)]; ok {
				t.Errorf("header %q arrived: %v", k, got.header)
			}
		}
		ds := h.settled(t, ev.ID, 5*time.Second)
		if ds[0].Status != store.DeliverySucceeded {
			t.Fatalf("delivery: %+v", ds[0])
		}
		as, err := db.Attempts(context.Background(), ds[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"Header 1", "Header 2", "X-Split"}; len(as) != 1 || !slices.Equal(as[0].OmittedHeaders, want) {
			t.Errorf("attempt record names %v as omitted, want %v", as[0].OmittedHeaders, want)
		}
		if _, ok := as[0].RequestHeaders["X-Fine"]; !ok {
			t.Errorf("attempt record headers: %v", as[0].RequestHeaders)
		}
	})
}

// held waits until the event's one delivery is held for its disabled webhook.
func (h *harness) held(t *testing.T, eventID string, within time.Duration) store.Delivery {
	t.Helper()
	var ds []store.Delivery
	eventually(t, within, func() bool {
		var err error
		if ds, err = h.db.DeliveriesOfEvent(context.Background(), eventID); err != nil {
			t.Fatal(err)
		}
		return len(ds) == 1 && ds[0].Status == store.DeliveryPending && ds[0].HeldAt != nil
	}, func() string { return fmt.Sprintf("delivery not held: %+v", ds) })
	return ds[0]
}

func TestPublish_Matching(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	h := start(t, db, delivery.Config{})
	rcv := newReceiver(t, nil)
	tenant, other := "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80", "1e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f81"
	h.webhook(t, rcv.URL+"/global", nil)
	h.webhook(t, rcv.URL+"/tenant", func(w *store.Webhook) { w.Global, w.TenantIDs = false, []string{tenant} })
	h.webhook(t, rcv.URL+"/other-tenant", func(w *store.Webhook) { w.Global, w.TenantIDs = false, []string{other} })
	h.webhook(t, rcv.URL+"/other-event", func(w *store.Webhook) { w.Events = []string{"user.delete"} })
	h.webhook(t, rcv.URL+"/disabled", func(w *store.Webhook) { w.Enabled = false })
	count := func(in delivery.PublishInput) int {
		t.Helper()
		return h.publish(t, in).Deliveries
	}
	if n := count(delivery.PublishInput{Type: "user.created", Tenant: tenant}); n != 2 {
		t.Errorf("tenant event: %d deliveries, want 2 (global and tenant)", n)
	}
	if n := count(delivery.PublishInput{Type: "user.created"}); n != 1 {
		t.Errorf("event without tenant: %d deliveries, want 1 (global)", n)
	}
	if n := count(delivery.PublishInput{Type: "fusionauth:user.create", Tenant: other}); n != 2 {
		t.Errorf("native type: %d deliveries, want 2", n)
	}
	if n := count(delivery.PublishInput{Type: "user.login.succeeded", Tenant: tenant}); n != 0 {
		t.Errorf("unsubscribed event: %d deliveries, want 0", n)
	}
	for _, bad := range []delivery.PublishInput{
		{Type: ""}, {Type: "user.exploded"}, {Type: "fusionauth:user.exploded"}, {Type: "zapier:thing"},
		{Type: "user.created", Data: json.RawMessage(`[1]`)}, {Type: "user.created", Data: json.RawMessage(`{`)},
	} {
		if _, _, err := h.engine.Publish(context.Background(), bad); store.ErrorCode(err) != store.EINVALID {
			t.Errorf("publish %+v: %v, want invalid", bad, err)
		}
	}
}

// Every change to the webhooks shows in the very next publish: the engine may keep what a
// scope matched (on SQLite), never past a write.
func TestPublish_SeesEachWebhookChange(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := start(t, db, delivery.Config{})
		rcv := newReceiver(t, nil)
		ctx := context.Background()
		count := func(what string, want int) {
			t.Helper()
			for i := 0; i < 2; i++ { // twice: the second may be answered from what the first read
				if n := h.publish(t, delivery.PublishInput{Type: "user.created"}).Deliveries; n != want {
					t.Errorf("%s, publish %d: %d deliveries, want %d", what, i+1, n, want)
				}
			}
		}
		a := h.webhook(t, rcv.URL+"/a", nil)
		count("one webhook", 1)
		b := h.webhook(t, rcv.URL+"/b", nil)
		count("a second webhook created", 2)
		if _, err := db.UpdateWebhook(ctx, store.WebhookKey{Dialect: a.Dialect, ExternalID: a.ExternalID}, func(w *store.Webhook) error {
			w.Events = []string{"user.delete"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		count("the first no longer subscribed", 1)
		if err := db.DisableWebhook(ctx, b.ID, "test"); err != nil {
			t.Fatal(err)
		}
		count("the second disabled", 0)
		if err := db.EnableWebhook(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		count("the second enabled", 1)
		if err := db.DeleteWebhook(ctx, store.WebhookKey{Dialect: b.Dialect, ExternalID: b.ExternalID}); err != nil {
			t.Fatal(err)
		}
		count("the second deleted", 0)
	})
}

func TestDeliver_RetryThenSucceed(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	h := start(t, db, delivery.Config{})
	rcv := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
		}
	})
	h.webhook(t, rcv.URL, nil)
	ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
	got := rcv.wait(t, 2, 15*time.Second)
	if got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") {
		t.Errorf("webhook-id changed between attempts")
	}
	if gap := got[1].at.Sub(got[0].at); gap < 900*time.Millisecond {
		t.Errorf("Retry-After: 1 not honoured: retried after %s", gap)
	}
	ds := h.settled(t, ev.ID, 5*time.Second)
	if ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != 2 {
		t.Errorf("delivery: %+v", ds[0])
	}
	as, _ := db.Attempts(context.Background(), ds[0].ID)
	if len(as) != 2 || as[0].ResponseStatus != 503 || as[1].ResponseStatus != 200 {
		t.Errorf("attempts: %+v", as)
	}
}

func TestDeliver_GoneDisablesTheWebhook(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	h := start(t, db, delivery.Config{})
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(410) })
	w := h.webhook(t, rcv.URL, nil)
	ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
	ds := h.settled(t, ev.ID, 10*time.Second)
	if ds[0].Status != store.DeliveryFailed || ds[0].Attempts != 1 {
		t.Errorf("delivery after 410: %+v", ds[0])
	}
	got, _ := db.WebhookByID(context.Background(), w.ID)
	if got.DisabledAt == nil || !strings.Contains(got.DisabledReason, "410") {
		t.Errorf("webhook not disabled: %+v", got)
	}
	if n := h.publish(t, delivery.PublishInput{Type: "user.created"}).Deliveries; n != 0 {
		t.Errorf("a disabled webhook still matches: %d", n)
	}
}

func TestDeliver_TimeoutAndGiveUp(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	h := start(t, db, delivery.Config{})
	release := make(chan struct{})
	defer close(release)
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) { <-release })
	h.webhook(t, rcv.URL, func(w *store.Webhook) {
		w.ReadTimeout = 200
		w.Retry = &store.Retry{Enabled: false} // one attempt only
	})
	ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
	ds := h.settled(t, ev.ID, 10*time.Second)
	as, _ := db.Attempts(context.Background(), ds[0].ID)
	if ds[0].Status != store.DeliveryFailed || len(as) != 1 || as[0].ErrorKind != "timeout" {
		t.Errorf("timeout: %+v %+v", ds[0], as)
	}
}

func TestDeliver_RefusesPrivateTargets(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	h := startGuarded(t, db, delivery.Config{})
	rcv := newReceiver(t, nil)
	for _, url := range []string{rcv.URL, "http://169.254.169.254/latest/meta-data", "http://localhost:1/x", "http://10.0.0.1/"} {
		h.webhook(t, url, func(w *store.Webhook) { w.Retry = &store.Retry{Enabled: false} })
	}
	ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
	ds := h.settled(t, ev.ID, 10*time.Second)
	for _, d := range ds {
		as, _ := db.Attempts(context.Background(), d.ID)
		if d.Status != store.DeliveryFailed || len(as) != 1 || as[0].ErrorKind != "refused_target" || as[0].Error == "" {
			t.Errorf("private target: %+v %+v", d, as)
		}
	}
	if n := len(rcv.requestsOf(ds)); n != 0 {
		t.Errorf("the loopback receiver got %d requests", n)
	}
}

// A delivery the guard refuses fails at its first attempt, with the reason, instead of
// waiting out the whole retry schedule: the guard would refuse every retry too.
func TestDeliver_RefusedTargetFailsAtOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := startGuarded(t, db, delivery.Config{MaxAttempts: 12})
		rcv := newReceiver(t, nil)
		h.webhook(t, rcv.URL+"/hook", nil) // loopback, with the default retry policy
		ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
		ds := h.settled(t, ev.ID, 5*time.Second)
		if ds[0].Status != store.DeliveryFailed || ds[0].Attempts != 1 || ds[0].NextAttemptAt != nil ||
			!strings.Contains(ds[0].LastError, "SSRF guard") || !strings.Contains(ds[0].LastError, "loopback") {
			t.Errorf("refused delivery: %+v", ds[0])
		}
		if n := len(rcv.requestsOf(ds)); n != 0 {
			t.Errorf("the loopback receiver got %d requests", n)
		}
	})
}

func TestDeliver_HangingEndpointDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	h := start(t, db, delivery.Config{PerEndpoint: 2, Workers: 20})
	release := make(chan struct{})
	var hung atomic.Int32
	slow := newReceiver(t, func(_ int, w http.ResponseWriter) { hung.Add(1); <-release })
	defer close(release)
	fast := newReceiver(t, nil)
	h.webhook(t, slow.URL, func(w *store.Webhook) { w.Events = []string{"user.delete"}; w.ReadTimeout = 60000 })
	h.webhook(t, fast.URL, nil)
	for i := 0; i < 30; i++ {
		h.publish(t, delivery.PublishInput{Type: "user.deleted"})
	}
	start := time.Now()
	for i := 0; i < 20; i++ {
		h.publish(t, delivery.PublishInput{Type: "user.created"})
	}
	fast.wait(t, 20, 10*time.Second)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("healthy endpoint took %s with a hanging one beside it", elapsed)
	}
	if n := hung.Load(); n > 2 {
		t.Errorf("the hanging endpoint holds %d requests at once, want at most 2", n)
	}
}

// secondsEncoder gives an encoder a retry vocabulary of one unit, "Second", so that a
// webhook's own retry setting (store.Retry) can wait seconds in a test.
type secondsEncoder struct{ delivery.Encoder }

// InScope is the wrapped dialect's scope rule.
func (s secondsEncoder) InScope(w *store.Webhook, tenant string) bool {
	return s.Encoder.(delivery.Scoper).InScope(w, tenant)
}

func (secondsEncoder) RetryUnit(unit string) time.Duration {
	if unit == "Second" {
		return time.Second
	}
	return 0
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	want := []time.Duration{5 * time.Second, 15 * time.Second, 45 * time.Second, 135 * time.Second, 405 * time.Second, 1215 * time.Second, time.Hour, time.Hour}
	for i, w := range want {
		if got := delivery.RetryDelay(i + 1); got != w {
			t.Errorf("RetryDelay(%d) = %s, want %s", i+1, got, w)
		}
	}
}

// An endpoint failing for DisableAfter is disabled; its deliveries are kept, and after it
// is enabled again, recovering delivers them.
// A webhook whose endpoint fails for DisableAfter is disabled; its pending delivery is
// held, not failed and not sent, and enabling the webhook sends it.
func TestDeliver_FailingEndpointIsDisabledAndHeldThenResumed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &delivery.TestClock{}
		h := start(t, db, delivery.Config{DisableAfter: 500 * time.Millisecond, Clock: clock})
		var down atomic.Bool
		down.Store(true)
		rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
			if down.Load() {
				w.WriteHeader(500)
			}
		})
		w := h.webhook(t, rcv.URL, func(w *store.Webhook) {
			w.Retry = &store.Retry{Enabled: true, Count: 10, Delay: 1, DelayUnit: "Second"}
		})
		ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
		// Each retry is due a second later: the second failure, past DisableAfter, disables
		// the webhook, and the next attempt finds it disabled and holds the delivery.
		var d store.Delivery
		for i := 0; d.HeldAt == nil; i++ {
			if i == 10 {
				t.Fatalf("delivery not held after %d retries: %+v", i, d)
			}
			h.quiet(t)
			clock.Advance(time.Second)
			d = onlyDelivery(t, db, ev.ID)
		}
		got, _ := db.WebhookByID(context.Background(), w.ID)
		if got.DisabledAt == nil || got.FailingSince == nil || !strings.Contains(got.DisabledReason, "failed since") {
			t.Fatalf("webhook after failing: %+v (delivery %+v)", got, d)
		}
		if n := h.publish(t, delivery.PublishInput{Type: "user.created"}).Deliveries; n != 0 {
			t.Errorf("disabled webhook matched %d", n)
		}
		sent := len(rcv.requests())
		clock.Advance(3 * time.Second) // more than the retry delay
		h.quiet(t)
		if n := len(rcv.requests()); n != sent || n != d.Attempts {
			t.Fatalf("a held delivery was sent: %d requests, %d before, %d attempts", n, sent, d.Attempts)
		}
		// The operator fixes the endpoint and enables the webhook: the delivery goes out.
		down.Store(false)
		if err := db.EnableWebhook(context.Background(), w.ID); err != nil {
			t.Fatal(err)
		}
		h.quiet(t) // the scheduler's look releases the hold
		ds := h.settled(t, ev.ID, 10*time.Second)
		if ds[0].Status != store.DeliverySucceeded || ds[0].Attempts != d.Attempts+1 || ds[0].HeldAt != nil {
			t.Errorf("after enable: %+v", ds[0])
		}
		got, _ = db.WebhookByID(context.Background(), w.ID)
		if got.FailingSince != nil || got.DisabledAt != nil {
			t.Errorf("health not reset: %+v", got)
		}
		if _, err := h.engine.Retry(context.Background(), ds[0].ID); err != nil {
			t.Errorf("retry a delivered delivery: %v", err)
		}
		if _, err := h.engine.Retry(context.Background(), ds[0].ID); store.ErrorCode(err) != store.ECONFLICT {
			t.Errorf("retrying a pending delivery: %v", err)
		}
		if _, err := h.engine.Retry(context.Background(), "nope"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("retry unknown: %v", err)
		}
	})
}

// Endpoint health follows the engine's clock: a run of failures starts at the first
// failed attempt, and the webhook is disabled by the first failure DisableAfter later,
// not before; a success ends the run.
func TestDeliver_HealthByTheClock(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := &delivery.TestClock{}
		h := start(t, db, delivery.Config{DisableAfter: 24 * time.Hour, Clock: clock})
		var up atomic.Bool
		rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
			if !up.Load() {
				w.WriteHeader(500)
			}
		})
		w := h.webhook(t, rcv.URL, func(w *store.Webhook) { w.Retry = &store.Retry{Enabled: false} })
		fail := func() {
			t.Helper()
			ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
			if ds := h.settled(t, ev.ID, 10*time.Second); ds[0].Status != store.DeliveryFailed {
				t.Fatalf("delivery: %+v", ds[0])
			}
		}
		began := clock.Now().Truncate(time.Millisecond)
		fail()
		got, _ := db.WebhookByID(ctx, w.ID)
		if got.FailingSince == nil || got.FailingSince.Before(began) || got.FailingSince.After(clock.Now()) || got.DisabledAt != nil {
			t.Fatalf("after one failure from %s: %+v", began, got)
		}
		clock.Advance(23 * time.Hour)
		fail()
		if got, _ = db.WebhookByID(ctx, w.ID); got.DisabledAt != nil {
			t.Fatalf("disabled after 23 h of failures: %+v", got)
		}
		// A success ends the run; the next failure starts a new one.
		up.Store(true)
		ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
		h.settled(t, ev.ID, 10*time.Second)
		if got, _ = db.WebhookByID(ctx, w.ID); got.FailingSince != nil {
			t.Fatalf("still failing after a success: %+v", got)
		}
		up.Store(false)
		fail()
		clock.Advance(23 * time.Hour)
		fail()
		if got, _ = db.WebhookByID(ctx, w.ID); got.DisabledAt != nil {
			t.Fatalf("disabled 23 h into a new run: %+v", got)
		}
		clock.Advance(2 * time.Hour)
		fail()
		if got, _ = db.WebhookByID(ctx, w.ID); got.DisabledAt == nil || !strings.Contains(got.DisabledReason, "failed since") {
			t.Fatalf("not disabled after 25 h of failures: %+v", got)
		}
		if n := h.publish(t, delivery.PublishInput{Type: "user.created"}).Deliveries; n != 0 {
			t.Errorf("disabled webhook matched %d", n)
		}
	})
}

// Recover re-sends every failed delivery since a time, in the background, to an endpoint
// that came back.
func TestRecover(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	h := start(t, db, delivery.Config{})
	var down atomic.Bool
	down.Store(true)
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
		if down.Load() {
			w.WriteHeader(503)
		}
	})
	w := h.webhook(t, rcv.URL, func(w *store.Webhook) { w.Retry = &store.Retry{Enabled: false} })
	since := time.Now().Add(-time.Minute)
	var ids []string
	for i := 0; i < 5; i++ {
		ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
		ids = append(ids, ev.ID)
	}
	for _, id := range ids {
		if d := h.settled(t, id, 10*time.Second); d[0].Status != store.DeliveryFailed {
			t.Fatalf("before recovery: %+v", d[0])
		}
	}
	down.Store(false)
	r, err := h.engine.Recover(context.Background(), w.ID, since)
	if err != nil || r.Total != 5 {
		t.Fatalf("recover: %+v %v", r, err)
	}
	var got *store.Recovery
	eventually(t, 10*time.Second, func() bool {
		got, err = db.GetRecovery(context.Background(), r.ID)
		return err == nil && got.Status == store.RecoveryDone
	}, func() string { return fmt.Sprintf("recovery did not finish: %+v %v", got, err) })
	for _, id := range ids {
		if d := h.settled(t, id, 10*time.Second); d[0].Status != store.DeliverySucceeded || d[0].Attempts != 2 {
			t.Errorf("after recovery: %+v", d[0])
		}
	}
	got, err = db.GetRecovery(context.Background(), r.ID)
	if err != nil || got.Status != store.RecoveryDone || got.Done != 5 {
		t.Errorf("recovery progress: %+v %v", got, err)
	}
	if _, err := h.engine.Recover(context.Background(), "nope", since); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("recover unknown: %v", err)
	}
	_ = db.DisableWebhook(context.Background(), w.ID, "gone")
	if _, err := h.engine.Recover(context.Background(), w.ID, since); store.ErrorCode(err) != store.ECONFLICT {
		t.Errorf("recover a disabled webhook: %v", err)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	h := start(t, db, delivery.Config{})
	rcv := newReceiver(t, nil)
	h.webhook(t, rcv.URL, nil)
	ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
	h.settled(t, ev.ID, 10*time.Second)
	if a, d, e, err := db.Prune(context.Background(), time.Now().Add(-time.Hour)); err != nil || a+d+e != 0 {
		t.Errorf("prune of nothing old: %d %d %d %v", a, d, e, err)
	}
	a, d, e, err := db.Prune(context.Background(), time.Now().Add(time.Hour))
	if err != nil || a != 1 || d != 1 || e != 1 {
		t.Errorf("prune: %d %d %d %v", a, d, e, err)
	}
	if _, err := db.GetEvent(context.Background(), ev.ID); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("pruned event still there: %v", err)
	}
}

// The prune job, run when the engine starts, deletes what its retention has expired and
// then reclaims the space: on PostgreSQL it vacuums the tables it deleted from.
func TestPruneJob_ReclaimsWhatItDeleted(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &store.Webhook{Dialect: "fusionauth", ExternalID: "old", URL: "https://old.example.com/hook", Enabled: true, Global: true}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Millisecond)
		ev := &store.Event{ID: "evt_old", Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at, Deliveries: 1}
		d := store.Delivery{ID: "msg_old", EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create",
			Status: store.DeliverySucceeded, Attempts: 1, CreatedAt: at, UpdatedAt: at}
		if err := db.CreateEvents(ctx, []*store.Event{ev}, []store.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Settle(ctx, nil, []*store.Attempt{{ID: "att_old", DeliveryID: d.ID, Number: 1, URL: w.URL, StartedAt: at}}); err != nil {
			t.Fatal(err)
		}
		start(t, db, delivery.Config{Retention: time.Hour})
		eventually(t, 20*time.Second, func() bool {
			_, err := db.GetEvent(ctx, ev.ID)
			return store.ErrorCode(err) == store.ENOTFOUND
		}, func() string { return "the expired event was not pruned" })
		if db.Backend() != store.BackendPostgres {
			return // SQLite reuses the pages a delete frees: nothing to reclaim
		}
		var vacuumed []string
		eventually(t, 20*time.Second, func() bool {
			rows, err := db.SQL().QueryContext(ctx, `SELECT relname FROM pg_stat_user_tables
				WHERE schemaname = current_schema() AND vacuum_count > 0 ORDER BY relname`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			vacuumed = nil
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					t.Fatal(err)
				}
				vacuumed = append(vacuumed, name)
			}
			return fmt.Sprint(vacuumed) == "[attempts deliveries events]"
		}, func() string {
			return fmt.Sprintf("tables vacuumed: %v, want attempts, deliveries and events", vacuumed)
		})
	})
}

// The store's candidates are only what a tenant may reach; the dialect's scope rule
// (delivery.Scoper) decides. A FusionAuth-shaped webhook owned by t2 is a candidate for
// t2's events, but its dialect scopes by tenant list, so only its listed tenant's arrive.
// A publish finds the webhooks that subscribe to its event by name or by their dialect's
// wildcard (Nursa's "all"), among many that do not, on both stores: PostgreSQL reads the
// subscribers only (MatchSubscribers), SQLite the scope's webhooks, kept.
func TestPublish_SubscribersByNameAndWildcard(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		keys, err := server.NewKeys("delivery-test-master-key")
		if err != nil {
			t.Fatal(err)
		}
		e, err := delivery.New(drivers.For(db), delivery.Config{Log: slog.New(slog.DiscardHandler), Sender: delivery.SenderOptions{AllowPrivateTargets: true}})
		if err != nil {
			t.Fatal(err)
		}
		deps := server.Deps{DB: db, Keys: keys, Log: slog.New(slog.DiscardHandler)}
		e.Register(fusionauth.New(deps).Encoder(), nursa.New(deps).Encoder())
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.Stop(context.Background()) })
		h := &harness{db: db, engine: e}
		rcv := newReceiver(t, nil)
		const tenant = "client-1"
		for i := range 50 {
			h.webhook(t, fmt.Sprintf("%s/other/%d", rcv.URL, i), func(w *store.Webhook) { w.Events = []string{"user.delete"} })
		}
		h.webhook(t, rcv.URL+"/by-name", nil)
		nursaHook := func(path string, events ...string) {
			h.webhook(t, rcv.URL+path, func(w *store.Webhook) {
				w.Dialect, w.Global, w.Owner, w.Events = nursa.Name, false, tenant, events
			})
		}
		nursaHook("/nursa-all", "all")
		nursaHook("/nursa-named", "facility.creation.accepted")
		nursaHook("/nursa-other", "facility.creation.rejected")
		for _, c := range []struct {
			in   delivery.PublishInput
			want int
		}{
			{delivery.PublishInput{Type: "fusionauth:user.create"}, 1},
			{delivery.PublishInput{Type: "nursa:facility.creation.accepted", Tenant: tenant}, 2},
			{delivery.PublishInput{Type: "nursa:facility.user-connection.accepted", Tenant: tenant}, 1},
			{delivery.PublishInput{Type: "nursa:facility.creation.accepted", Tenant: "client-2"}, 0},
		} {
			for i := range 2 { // twice: the second may be answered from what the first read
				if n := h.publish(t, c.in).Deliveries; n != c.want {
					t.Errorf("%s of %q, publish %d: %d deliveries, want %d", c.in.Type, c.in.Tenant, i+1, n, c.want)
				}
			}
		}
	})
}

func TestPublish_DialectScopeRuleDecides(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := start(t, db, delivery.Config{})
		rcv := newReceiver(t, nil)
		h.webhook(t, rcv.URL, func(w *store.Webhook) { w.Global, w.Owner, w.TenantIDs = false, "t2", []string{"t1"} })
		if ev := h.publish(t, delivery.PublishInput{Type: "user.created", Tenant: "t2", Data: json.RawMessage(`{}`)}); ev.Deliveries != 0 {
			t.Errorf("an event of t2 made %d deliveries to a webhook listing only t1", ev.Deliveries)
		}
		ev := h.publish(t, delivery.PublishInput{Type: "user.created", Tenant: "t1", Data: json.RawMessage(`{}`)})
		if ev.Deliveries != 1 {
			t.Fatalf("an event of t1 made %d deliveries, want 1", ev.Deliveries)
		}
		if ds := h.settled(t, ev.ID, 10*time.Second); ds[0].Status != store.DeliverySucceeded {
			t.Errorf("delivery: %+v", ds[0])
		}
	})
}
