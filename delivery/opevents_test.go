package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/native"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

var operatorEvents = []string{delivery.EventWebhookFailing, delivery.EventWebhookRecovered, delivery.EventWebhookDisabled, delivery.EventDeliveryExhausted}

// startNative runs an engine with native subscriptions (the standard dialect) beside
// FusionAuth's, delivering to loopback.
func startNative(t *testing.T, db *store.DB, cfg delivery.Config) *harness {
	t.Helper()
	cfg.Sender.AllowPrivateTargets = true
	cfg.Log = slog.New(slog.DiscardHandler)
	e, err := delivery.New(drivers.For(db), cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := server.NewKeys("delivery-test-master-key")
	if err != nil {
		t.Fatal(err)
	}
	e.Register(native.Encoder{}, fusionauth.New(server.Deps{DB: db, Keys: keys, Log: cfg.Log}).Encoder())
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

// subscribe makes a native subscription of rcv to events, one attempt per delivery.
func (h *harness) subscribe(t *testing.T, url string, events ...string) *store.Webhook {
	t.Helper()
	return h.webhook(t, url, func(w *store.Webhook) {
		w.Dialect, w.Events, w.Retry = native.Dialect, events, &store.Retry{Enabled: false}
	})
}

// opEvent is an operator event as a subscriber receives it, its signature checked.
type opEvent struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      struct {
		Webhook struct {
			ID, Dialect, Tenant string
		} `json:"webhook"`
		FailingSince *time.Time `json:"failingSince"`
		Reason       string     `json:"reason"`
		LastStatus   *int       `json:"lastStatus"`
		Delivery     *struct {
			ID         string `json:"id"`
			EventID    string `json:"eventId"`
			EventType  string `json:"eventType"`
			LastStatus int    `json:"lastStatus"`
			Attempts   int    `json:"attempts"`
		} `json:"delivery"`
	} `json:"data"`
}

// operatorEventsOf decodes what rcv received, verifying each request's Standard Webhooks
// signature with w's secret; the requests that are not operator events are left out.
func operatorEventsOf(t *testing.T, rcv *receiver, w *store.Webhook) []opEvent {
	t.Helper()
	return verifiedEvents(t, rcv, w, false)
}

// verifiedEvents is operatorEventsOf; movedClock leaves the signature's timestamp
// unchecked, for an engine whose clock a test moved ahead of the receiver's.
func verifiedEvents(t *testing.T, rcv *receiver, w *store.Webhook, movedClock bool) []opEvent {
	t.Helper()
	verifier, err := standardwebhooks.NewWebhook(w.SigningSecrets[0].Secret)
	if err != nil {
		t.Fatal(err)
	}
	var out []opEvent
	for _, r := range rcv.requests() {
		verify := verifier.Verify
		if movedClock {
			verify = verifier.VerifyIgnoringTimestamp
		}
		if err := verify(r.body, r.header); err != nil {
			t.Errorf("a delivery's Standard Webhooks signature: %v (%s)", err, r.body)
		}
		var ev opEvent
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
		if delivery.IsOperatorEvent(ev.Type) {
			out = append(out, ev)
		}
	}
	return out
}

// count returns how many of evs are of type typ and about the webhook id.
func count(evs []opEvent, typ, id string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ && ev.Data.Webhook.ID == id {
			n++
		}
	}
	return n
}

// A native subscriber to the operator events receives, signed, one failing per run of
// failures of another webhook, then recovered, the exhausted deliveries with their ids and
// last status, and disabled with its reason; the webhook they are about receives none of
// its own, and FusionAuth's webhooks (no names for them) none at all.
func TestOperatorEvents_OncePerEpisode(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := startNative(t, db, delivery.Config{})
		ops := newReceiver(t, nil)
		opsW := h.subscribe(t, ops.URL, operatorEvents...)
		var status atomic.Int32
		status.Store(500)
		flaky := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(int(status.Load())) })
		flakyW := h.subscribe(t, flaky.URL, append([]string{"user.created"}, operatorEvents...)...)
		fa := newReceiver(t, nil)
		h.webhook(t, fa.URL, nil) // FusionAuth, global, user.create

		publish := func() (*store.Event, store.Delivery) {
			t.Helper()
			ev := h.publish(t, delivery.PublishInput{Type: "user.created", Data: json.RawMessage(`{"user": {"id": "u1"}}`)})
			for _, d := range h.settled(t, ev.ID, 10*time.Second) {
				if d.WebhookID == flakyW.ID {
					return ev, d
				}
			}
			t.Fatalf("no delivery to the flaky webhook: %+v", ev)
			return nil, store.Delivery{}
		}
		// A run of failures: one failing, an exhausted per delivery given up.
		ev1, d1 := publish()
		_, d2 := publish()
		h.quiet(t)
		got := operatorEventsOf(t, ops, opsW)
		if n := count(got, delivery.EventWebhookFailing, flakyW.ID); n != 1 {
			t.Fatalf("failing events in one run of failures: %d, want 1 (%+v)", n, got)
		}
		if n := count(got, delivery.EventDeliveryExhausted, flakyW.ID); n != 2 {
			t.Fatalf("exhausted events for two deliveries given up: %d, want 2", n)
		}
		for _, ev := range got {
			w := ev.Data.Webhook
			if w.Dialect != native.Dialect || w.Tenant != "" || ev.Timestamp.IsZero() {
				t.Errorf("%s: webhook %+v, timestamp %v", ev.Type, w, ev.Timestamp)
			}
			switch ev.Type {
			case delivery.EventWebhookFailing:
				if ev.Data.FailingSince == nil || ev.Data.LastStatus == nil || *ev.Data.LastStatus != 500 {
					t.Errorf("failing: %+v", ev.Data)
				}
			case delivery.EventDeliveryExhausted:
				d := ev.Data.Delivery
				if d == nil || (d.ID != d1.ID && d.ID != d2.ID) || d.LastStatus != 500 || d.Attempts != 1 || d.EventType != "user.created" {
					t.Errorf("exhausted: %+v", d)
				} else if d.ID == d1.ID && d.EventID != ev1.ID {
					t.Errorf("exhausted names event %s, want %s", d.EventID, ev1.ID)
				}
			}
		}
		// Back: one recovered, however many successes.
		status.Store(204)
		publish()
		publish()
		h.quiet(t)
		got = operatorEventsOf(t, ops, opsW)
		if n := count(got, delivery.EventWebhookRecovered, flakyW.ID); n != 1 {
			t.Fatalf("recovered events: %d, want 1", n)
		}
		// A new run is a new failing; 410 disables it, with the reason.
		status.Store(500)
		publish()
		status.Store(410)
		_, d410 := publish()
		h.quiet(t)
		got = operatorEventsOf(t, ops, opsW)
		if n := count(got, delivery.EventWebhookFailing, flakyW.ID); n != 2 {
			t.Errorf("failing events over two runs: %d, want 2", n)
		}
		if n := count(got, delivery.EventWebhookDisabled, flakyW.ID); n != 1 {
			t.Fatalf("disabled events: %d, want 1", n)
		}
		for _, ev := range got {
			if ev.Type == delivery.EventWebhookDisabled && !strings.Contains(ev.Data.Reason, "410") {
				t.Errorf("disabled without its reason: %+v", ev.Data)
			}
			if ev.Type == delivery.EventDeliveryExhausted && ev.Data.Delivery.ID == d410.ID && ev.Data.Delivery.LastStatus != 410 {
				t.Errorf("exhausted after 410: %+v", ev.Data.Delivery)
			}
			if ev.Data.Webhook.ID != flakyW.ID {
				t.Errorf("an operator event about %s, which never failed", ev.Data.Webhook.ID)
			}
		}
		if n := count(got, delivery.EventDeliveryExhausted, flakyW.ID); n != 4 {
			t.Errorf("exhausted events: %d, want 4", n)
		}
		// The subject never hears of itself; FusionAuth's webhook has no name for them.
		for _, ev := range operatorEventsOf(t, flaky, flakyW) {
			if ev.Data.Webhook.ID == flakyW.ID {
				t.Errorf("the webhook received an operator event about itself: %+v", ev)
			}
		}
		for _, r := range fa.requests() {
			if strings.Contains(string(r.body), "polyhook.") {
				t.Errorf("a FusionAuth webhook received an operator event: %s", r.body)
			}
		}
		// Each was kept as a notice until published, and none is left.
		if ns, err := db.Notices(context.Background(), time.Now().Add(time.Hour), 10); err != nil || len(ns) != 0 {
			t.Errorf("notices left once their events were published: %+v %v", ns, err)
		}
		// Only the gateway publishes them.
		for _, typ := range []string{delivery.EventWebhookFailing, native.Dialect + ":" + delivery.EventDeliveryExhausted} {
			if _, _, err := h.engine.Publish(context.Background(), delivery.PublishInput{Type: typ}); store.ErrorCode(err) != store.EINVALID {
				t.Errorf("publishing %s: %v, want EINVALID", typ, err)
			}
		}
	})
}

// A webhook failing for DisableAfter is disabled once, and its subscribers are told why.
func TestOperatorEvents_DisabledAfterFailingTooLong(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &delivery.TestClock{}
		h := startNative(t, db, delivery.Config{DisableAfter: 24 * time.Hour, Clock: clock})
		ops := newReceiver(t, nil)
		opsW := h.subscribe(t, ops.URL, delivery.EventWebhookDisabled, delivery.EventWebhookFailing)
		down := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(503) })
		downW := h.subscribe(t, down.URL, "user.created")
		fail := func() {
			t.Helper()
			ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
			h.settled(t, ev.ID, 10*time.Second)
		}
		fail()
		clock.Advance(25 * time.Hour)
		fail()
		ops.wait(t, 2, 10*time.Second)
		h.quiet(t)
		got := verifiedEvents(t, ops, opsW, true)
		if len(got) != 2 || count(got, delivery.EventWebhookFailing, downW.ID) != 1 || count(got, delivery.EventWebhookDisabled, downW.ID) != 1 {
			t.Fatalf("operator events: %+v", got)
		}
		dis := got[0].Data
		if got[1].Type == delivery.EventWebhookDisabled {
			dis = got[1].Data
		}
		if dis.Webhook.ID != downW.ID || !strings.Contains(dis.Reason, "failed since") || dis.FailingSince == nil {
			t.Errorf("disabled: %+v", dis)
		}
		if w, _ := db.WebhookByID(context.Background(), downW.ID); w.DisabledAt == nil {
			t.Errorf("not disabled: %+v", w)
		}
	})
}

// Subscribers of the operator events that fail themselves hear of each other's failing once
// per run, and a delivery of an operator event given up begets no exhausted event: the
// events die out rather than bounce between failing subscribers for ever.
func TestOperatorEvents_NoCascade(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := startNative(t, db, delivery.Config{})
		down := func(_ int, w http.ResponseWriter) { w.WriteHeader(500) }
		a, b, c := newReceiver(t, down), newReceiver(t, down), newReceiver(t, down)
		aw, bw := h.subscribe(t, a.URL, operatorEvents...), h.subscribe(t, b.URL, operatorEvents...)
		cw := h.subscribe(t, c.URL, "user.created")
		h.publish(t, delivery.PublishInput{Type: "user.created"})
		h.quiet(t)
		// c's failing and exhausted reach a and b, which fail: their failing, once each,
		// reaches the other, which fails again within its run.
		evs, n, err := db.FindEvents(context.Background(), store.EventFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{delivery.EventWebhookFailing + " " + cw.ID: 1, delivery.EventDeliveryExhausted + " " + cw.ID: 1,
			delivery.EventWebhookFailing + " " + aw.ID: 1, delivery.EventWebhookFailing + " " + bw.ID: 1, "user.created ": 1}
		got := map[string]int{}
		for _, ev := range evs {
			var data struct {
				Webhook struct{ ID string } `json:"webhook"`
			}
			_ = json.Unmarshal(ev.Data, &data)
			got[ev.Type+" "+data.Webhook.ID]++
		}
		if n != 5 || len(got) != len(want) {
			t.Fatalf("events: %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("events: %v, want %v", got, want)
				break
			}
		}
		if na, nb := len(a.requests()), len(b.requests()); na != 3 || nb != 3 {
			t.Errorf("requests: a %d, b %d; want 3 each (c's failing and exhausted, the other's failing)", na, nb)
		}
	})
}

// An operator event nobody subscribes to is not stored: failures cost no events.
func TestOperatorEvents_UnsubscribedAreNotStored(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	h := startNative(t, db, delivery.Config{})
	down := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(500) })
	w := h.subscribe(t, down.URL, "user.created")
	ev := h.publish(t, delivery.PublishInput{Type: "user.created"})
	h.settled(t, ev.ID, 10*time.Second)
	h.quiet(t)
	if got, _ := db.WebhookByID(context.Background(), w.ID); got.FailingSince == nil {
		t.Fatalf("not failing: %+v", got)
	}
	for _, typ := range operatorEvents {
		if _, n, err := db.FindEvents(context.Background(), store.EventFilter{Type: typ, Limit: 1}); err != nil || n != 0 {
			t.Errorf("%d %s events stored with no subscriber (%v)", n, typ, err)
		}
	}
}

// An operator event decided and stored with what caused it, but not published by the
// process that decided it (it stopped first), is published by the next to start, once,
// under the id it was decided with, and never to its subject. One published before its
// notice was deleted (the process stopped in between) is not published again.
func TestOperatorEvents_LeftUnpublishedArePublishedByTheNext(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		before := &harness{db: db}
		ops := newReceiver(t, nil)
		opsW := before.subscribe(t, ops.URL, operatorEvents...)
		subject := newReceiver(t, nil)
		subjectW := before.subscribe(t, subject.URL, append([]string{"user.created"}, operatorEvents...)...)
		at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
		left := store.Notice{ID: delivery.NewID("evt_"), Type: delivery.EventWebhookFailing, Subject: subjectW.ID, OccurredAt: at,
			Data: fmt.Sprintf(`{"webhook":{"id":%q,"dialect":"native","tenant":""},"failingSince":%q,"lastStatus":503}`, subjectW.ID, at.Format(time.RFC3339Nano))}
		if err := db.AddNotices(ctx, []store.Notice{left}); err != nil {
			t.Fatal(err)
		}
		h := startNative(t, db, delivery.Config{})
		h.quiet(t)
		got := verifiedEvents(t, ops, opsW, true)
		if len(got) != 1 || got[0].Type != delivery.EventWebhookFailing || got[0].Data.Webhook.ID != subjectW.ID ||
			got[0].Data.LastStatus == nil || *got[0].Data.LastStatus != 503 || !got[0].Timestamp.Equal(at) {
			t.Fatalf("operator events received: %+v, want the failing one left unpublished", got)
		}
		if ev, err := db.GetEvent(ctx, left.ID); err != nil || ev.Type != delivery.EventWebhookFailing {
			t.Errorf("the event under the notice's id: %+v %v", ev, err)
		}
		if got := verifiedEvents(t, subject, subjectW, true); len(got) != 0 {
			t.Errorf("the subject received operator events about itself: %+v", got)
		}
		notices := func() []store.Notice {
			t.Helper()
			ns, err := db.Notices(ctx, time.Now().Add(time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			return ns
		}
		if ns := notices(); len(ns) != 0 {
			t.Fatalf("notices left once published: %+v", ns)
		}
		// Its notice again, as if not deleted: a sweep publishes nothing more.
		if err := db.AddNotices(ctx, []store.Notice{left}); err != nil {
			t.Fatal(err)
		}
		h.engine.SweepNotices(ctx)
		h.quiet(t)
		if ns := notices(); len(ns) != 0 {
			t.Fatalf("the sweep left a notice published before: %+v", ns)
		}
		if got := verifiedEvents(t, ops, opsW, true); len(got) != 1 {
			t.Fatalf("operator events received: %d, want the one, once", len(got))
		}
	})
}
