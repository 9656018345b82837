// Package drivertest is the contract every delivery driver (delivery/driver) meets, as
// River's riverdrivertest is for its drivers: Exercise runs each operation of the
// delivery lifecycle against a real database, so that SQLite and PostgreSQL answer the
// engine alike.
package drivertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/store"
)

// Open returns a driver on a fresh database of its own and the store under it, for
// what the contract sets up beside the lifecycle (webhooks).
type Open func(t *testing.T) (driver.Driver, *store.DB)

// Exercise runs the contract against the drivers open returns, one database per subtest,
// in parallel.
func Exercise(t *testing.T, open Open) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, d driver.Driver, db *store.DB)
	}{
		{"EventsAndDeliveries", exerciseEvents},
		{"MatchCandidates", exerciseMatch},
		{"DueAndClaimDue", exerciseDue},
		{"SettleOnlyByTheHolder", exerciseSettle},
		{"RenewClaims", exerciseRenew},
		{"ReleaseExpiredAndOfReplica", exerciseRelease},
		{"ReleaseHeld", exerciseHeld},
		{"OrderedLanes", exerciseLanes},
		{"ReserveSend", exerciseReserve},
		{"Breakers", exerciseBreakers},
		{"BreakerDefersDue", exerciseBreakerDefersDue},
		{"BreakerHoldsBacklog", exerciseBreakerHolds},
		{"Replicas", exerciseReplicas},
		{"WebhookStatesAndHealth", exerciseHealth},
		{"HealthChangesOnce", exerciseHealthOnce},
		{"RetriesAndRecoveries", exerciseRecovery},
		{"Prune", exercisePrune},
		{"PruneEndpoints", exercisePruneEndpoints},
		{"PruneInBatches", exercisePruneBatches},
		{"ReclaimAfterPrune", exerciseReclaim},
		{"TransactionsAndQueue", exerciseTx},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, db := open(t)
			c.run(t, d, db)
		})
	}
}

// now is a time in the store's precision.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func webhook(t *testing.T, db *store.DB, id string, edit func(*store.Webhook)) *store.Webhook {
	t.Helper()
	w := &store.Webhook{Dialect: "acme", ExternalID: id, URL: "https://" + id + ".example.com/hook", Enabled: true, Global: true}
	if edit != nil {
		edit(w)
	}
	if err := db.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

// publish writes an event with one delivery per webhook, each edited by edit.
func publish(t *testing.T, d driver.Executor, id string, ws []*store.Webhook, edit func(*store.Delivery)) []store.Delivery {
	t.Helper()
	at := now()
	ev := &store.Event{ID: id, Type: "user.created", Data: []byte(`{"n":1}`), OccurredAt: at, CreatedAt: at, Deliveries: len(ws)}
	var ds []store.Delivery
	for i, w := range ws {
		x := store.Delivery{ID: fmt.Sprintf("%s_d%d", id, i), EventID: id, WebhookID: w.ID, Dialect: w.Dialect,
			EventName: "user.create", Status: store.DeliveryPending, CreatedAt: at, UpdatedAt: at}
		if edit != nil {
			edit(&x)
		}
		ds = append(ds, x)
	}
	if err := d.CreateEvents(context.Background(), []*store.Event{ev}, ds); err != nil {
		t.Fatal(err)
	}
	return ds
}

func due(at time.Time) func(*store.Delivery) {
	return func(d *store.Delivery) { d.NextAttemptAt = &at }
}

func claimed(by string, until time.Time) func(*store.Delivery) {
	return func(d *store.Delivery) { d.ClaimedBy, d.ClaimedUntil = by, &until }
}

func ids(ds []store.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func same(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func exerciseEvents(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	w := webhook(t, db, "ev", nil)
	publish(t, d, "evt_1", []*store.Webhook{w}, nil)
	publish(t, d, "evt_2", []*store.Webhook{w, w}, due(now()))
	ev, err := d.GetEvent(ctx, "evt_2")
	if err != nil || ev.Deliveries != 2 || string(ev.Data) != `{"n":1}` {
		t.Fatalf("get event: %+v %v", ev, err)
	}
	if _, err := d.GetEvent(ctx, "evt_none"); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("a missing event: %v", err)
	}
	evs, err := d.EventsByID(ctx, []string{"evt_1", "evt_2", "evt_none"})
	if err != nil || len(evs) != 2 || evs["evt_1"] == nil {
		t.Errorf("events by id: %v %v", evs, err)
	}
	if err := d.CreateEvents(ctx, []*store.Event{{ID: "evt_1", Type: "x", OccurredAt: now(), CreatedAt: now()}}, nil); store.ErrorCode(err) != store.ECONFLICT {
		t.Errorf("an event id written twice: %v", err)
	}
	n, oldest, err := d.Backlog(ctx)
	if err != nil || n != 3 || oldest.IsZero() {
		t.Errorf("backlog: %d %v %v", n, oldest, err)
	}
}

func exerciseMatch(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	global := webhook(t, db, "global", nil)
	owned := webhook(t, db, "owned", func(w *store.Webhook) { w.Global, w.Owner = false, "t1" })
	listing := webhook(t, db, "listing", func(w *store.Webhook) { w.Global, w.TenantIDs = false, []string{"t1", "t2", "t_3%"} })
	webhook(t, db, "off", func(w *store.Webhook) { w.Enabled = false })
	webhook(t, db, "other", func(w *store.Webhook) { w.Dialect = "other" })
	for tenant, want := range map[string][]string{"": {global.ID}, "t1": {global.ID, owned.ID, listing.ID}, "t2": {global.ID, listing.ID}, `t"`: {global.ID}, "t_3%": {global.ID, listing.ID}, "tx3": {global.ID}} {
		ws, err := d.MatchCandidates(ctx, []string{"acme", "third"}, tenant)
		got := make([]string, len(ws))
		for i, w := range ws {
			got[i] = w.ID
		}
		slices.Sort(got)
		slices.Sort(want)
		if err != nil || !same(got, want) {
			t.Errorf("candidates for tenant %q: %v %v, want %v", tenant, got, err, want)
		}
	}

	// Narrowed to the subscribers of names, in the query: a name is matched whole, and
	// what LIKE would read as a pattern is matched as written.
	events := func(es ...string) func(*store.Webhook) {
		return func(w *store.Webhook) { w.Events = es }
	}
	create := webhook(t, db, "create", events("user.create", "user.delete"))
	webhook(t, db, "prefix", events("user.created"))
	every := webhook(t, db, "every", events("all"))
	pct := webhook(t, db, "pct", events(`a%b_c"<&>`))
	webhook(t, db, "like", events("aXbYc"))
	webhook(t, db, "off-sub", func(w *store.Webhook) { w.Events, w.Enabled = []string{"user.create"}, false })
	for _, c := range []struct {
		names []string
		want  []string
	}{
		{[]string{"user.create"}, []string{create.ID}},
		{[]string{"user.create", "all"}, []string{create.ID, every.ID}},
		{[]string{`a%b_c"<&>`}, []string{pct.ID}},
		{[]string{"user"}, nil},
		{nil, nil},
	} {
		ws, err := d.MatchSubscribers(ctx, []string{"acme"}, "", c.names)
		got := make([]string, len(ws))
		for i, w := range ws {
			got[i] = w.ID
		}
		slices.Sort(got)
		slices.Sort(c.want)
		if err != nil || !same(got, c.want) {
			t.Errorf("subscribers of %q: %v %v, want %v", c.names, got, err, c.want)
		}
	}
}

func exerciseDue(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	a, b := webhook(t, db, "a", nil), webhook(t, db, "b", nil)
	at := now().Add(-time.Minute)
	early := publish(t, d, "evt_early", []*store.Webhook{a, b}, due(at))
	late := publish(t, d, "evt_late", []*store.Webhook{a}, due(at.Add(time.Second)))
	publish(t, d, "evt_future", []*store.Webhook{a}, due(now().Add(time.Hour)))
	publish(t, d, "evt_claimed", []*store.Webhook{a}, claimed("rep_x", now().Add(time.Hour)))
	held := now()
	publish(t, d, "evt_held", []*store.Webhook{a}, func(x *store.Delivery) { x.NextAttemptAt, x.HeldAt = &at, &held })

	got, err := d.DueDeliveries(ctx, now(), 10, nil)
	if want := append(ids(early), ids(late)...); err != nil || !same(ids(got), want) && !same(ids(got), []string{want[1], want[0], want[2]}) {
		t.Fatalf("due: %v %v, want %v, oldest due first", ids(got), err, want)
	}
	if got, _ := d.DueDeliveries(ctx, now(), 1, nil); len(got) != 1 {
		t.Errorf("limit 1: %v", ids(got))
	}
	if got, _ := d.DueDeliveries(ctx, now(), 10, []string{a.ID}); !same(ids(got), []string{early[1].ID}) {
		t.Errorf("except webhook a: %v", ids(got))
	}
	until := now().Add(time.Minute)
	later := now().Add(time.Hour)
	postponed := got[2]
	postponed.NextAttemptAt = &later
	cl, err := d.ClaimDue(ctx, got[:2], []store.Delivery{postponed}, "rep_a", until)
	if err != nil || len(cl) != 2 || cl[0].ClaimedBy != "rep_a" || !cl[0].ClaimedUntil.Equal(until) {
		t.Fatalf("claim due: %+v %v", cl, err)
	}
	if cl, err := d.ClaimDue(ctx, got[:2], nil, "rep_b", until); err != nil || len(cl) != 0 {
		t.Errorf("claimed twice: %+v %v", cl, err)
	}
	if got, _ := d.DueDeliveries(ctx, now(), 10, nil); len(got) != 0 {
		t.Errorf("due after claiming two and postponing one: %v", ids(got))
	}
	if got, _ := d.DueDeliveries(ctx, later, 10, nil); len(got) != 2 {
		t.Errorf("due once the postponed one is: %v, want it and evt_future's", ids(got))
	}
}

func exerciseSettle(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	w := webhook(t, db, "settle", nil)
	ds := publish(t, d, "evt_s", []*store.Webhook{w, w, w}, claimed("rep_a", now().Add(time.Hour)))
	at := now()
	next := at.Add(time.Minute)
	ok := &store.Delivery{ID: ds[0].ID, Status: store.DeliverySucceeded, Attempts: 1, LastStatus: 200, DeliveredAt: &at, ClaimedBy: "rep_a"}
	retry := &store.Delivery{ID: ds[1].ID, Status: store.DeliveryPending, Attempts: 1, LastStatus: 500, LastError: "500", NextAttemptAt: &next, ClaimedBy: "rep_a"}
	held := &store.Delivery{ID: ds[2].ID, Status: store.DeliveryPending, HeldAt: &at, ClaimedBy: "rep_a"}
	thief := &store.Delivery{ID: ds[0].ID, Status: store.DeliveryFailed, ClaimedBy: "rep_b"}
	if h, err := d.Settle(ctx, []*store.Delivery{thief}, []*store.Attempt{nil}); err != nil || h[0] {
		t.Fatalf("another replica settled a claim: %v %v", h, err)
	}
	as := []*store.Attempt{
		{ID: "att_1", DeliveryID: ok.ID, Number: 1, URL: w.URL, StartedAt: at, ResponseStatus: 200, RequestHeaders: map[string]string{"A": "b"}},
		{ID: "att_2", DeliveryID: retry.ID, Number: 1, URL: w.URL, StartedAt: at, ResponseStatus: 500},
		nil,
	}
	h, err := d.Settle(ctx, []*store.Delivery{ok, retry, held}, as)
	if err != nil || !h[0] || !h[1] || !h[2] {
		t.Fatalf("settle: %v %v", h, err)
	}
	if ok.ClaimedUntil != nil || ok.ClaimedBy != "" {
		t.Errorf("the settled delivery keeps its claim in memory: %+v", ok)
	}
	if h, _ := d.Settle(ctx, []*store.Delivery{{ID: ds[0].ID, Status: store.DeliveryFailed, ClaimedBy: "rep_a"}}, []*store.Attempt{{ID: "att_3", DeliveryID: ds[0].ID, Number: 2, URL: w.URL, StartedAt: at}}); h[0] {
		t.Error("settled twice")
	}
	if got, _ := db.Attempts(ctx, ds[0].ID); len(got) != 2 {
		t.Errorf("attempts of a claim settled twice: %d, want both stored", len(got))
	}
	for _, c := range []struct {
		id     string
		status string
		due    bool
		held   bool
	}{{ds[0].ID, store.DeliverySucceeded, false, false}, {ds[1].ID, store.DeliveryPending, true, false}, {ds[2].ID, store.DeliveryPending, false, true}} {
		x, err := db.GetDelivery(ctx, c.id)
		if err != nil || x.Status != c.status || x.ClaimedUntil != nil || (x.NextAttemptAt != nil) != c.due || (x.HeldAt != nil) != c.held {
			t.Errorf("%s after settling: %+v %v", c.id, x, err)
		}
	}
	if got, _ := d.DueDeliveries(ctx, next, 10, nil); !same(ids(got), []string{ds[1].ID}) {
		t.Errorf("due after settling: %v, want the retry", ids(got))
	}
}

func exerciseRenew(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	w := webhook(t, db, "renew", nil)
	live := publish(t, d, "evt_live", []*store.Webhook{w}, claimed("rep_a", now().Add(time.Minute)))
	ran := publish(t, d, "evt_ran", []*store.Webhook{w}, claimed("rep_a", now().Add(-time.Second)))
	other := publish(t, d, "evt_other", []*store.Webhook{w}, claimed("rep_b", now().Add(time.Minute)))
	until := now().Add(time.Hour)
	got, err := d.RenewClaims(ctx, "rep_a", []string{live[0].ID, ran[0].ID, other[0].ID}, until)
	if err != nil || len(got) != 1 || !got[live[0].ID] {
		t.Fatalf("renewed: %v %v, want the live claim of rep_a only", got, err)
	}
	if x, _ := db.GetDelivery(ctx, live[0].ID); !x.ClaimedUntil.Equal(until) {
		t.Errorf("renewed until %v, want %v", x.ClaimedUntil, until)
	}
	if got, err := d.RenewClaims(ctx, "rep_a", nil, until); err != nil || len(got) != 0 {
		t.Errorf("renew nothing: %v %v", got, err)
	}
}

func exerciseRelease(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	w := webhook(t, db, "release", nil)
	expired := publish(t, d, "evt_exp", []*store.Webhook{w}, claimed("rep_a", now().Add(-time.Second)))
	live := publish(t, d, "evt_live", []*store.Webhook{w, w}, claimed("rep_b", now().Add(time.Hour)))
	at := now()
	if n, err := d.ReleaseExpired(ctx, now(), at); n != 1 || err != nil {
		t.Fatalf("release expired: %d %v", n, err)
	}
	if got, _ := d.DueDeliveries(ctx, at, 10, nil); !same(ids(got), ids(expired)) {
		t.Errorf("due after the release: %v", ids(got))
	}
	if n, err := d.ReleaseClaimsOf(ctx, "rep_b", at); n != 2 || err != nil {
		t.Fatalf("release rep_b's claims: %d %v", n, err)
	}
	if n, _ := d.ReleaseClaimsOf(ctx, "rep_b", at); n != 0 {
		t.Errorf("released twice: %d", n)
	}
	if got, _ := d.DueDeliveries(ctx, at, 10, nil); len(got) != 1+len(live) {
		t.Errorf("due after releasing rep_b: %v", ids(got))
	}
	// What an older version left to a job of the queue: pending, waiting for nothing.
	old := publish(t, d, "evt_old", []*store.Webhook{w}, nil)
	if n, err := d.ScheduleUnscheduled(ctx, at); n != 1 || err != nil {
		t.Fatalf("schedule the unscheduled: %d %v", n, err)
	}
	if got, _ := d.DueDeliveries(ctx, at, 10, []string{"none"}); len(got) != 4 || !contains(ids(got), old[0].ID) {
		t.Errorf("due: %v", ids(got))
	}
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func exerciseHeld(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	w, gone := webhook(t, db, "held", nil), webhook(t, db, "gone", nil)
	at := now()
	hold := func(x *store.Delivery) { x.HeldAt = &at }
	kept := publish(t, d, "evt_h", []*store.Webhook{w}, hold)
	lost := publish(t, d, "evt_g", []*store.Webhook{gone}, hold)
	if err := d.DisableWebhook(ctx, w.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteWebhook(ctx, store.WebhookKey{Dialect: gone.Dialect, ExternalID: gone.ExternalID}); err != nil {
		t.Fatal(err)
	}
	if n, err := d.ReleaseHeld(ctx, at); n != 0 || err != nil {
		t.Fatalf("released while disabled: %d %v", n, err)
	}
	if x, _ := db.GetDelivery(ctx, lost[0].ID); x.Status != store.DeliveryCancelled || x.HeldAt != nil {
		t.Errorf("held delivery of a deleted webhook: %+v", x)
	}
	if got, _ := d.DueDeliveries(ctx, at.Add(time.Hour), 10, nil); len(got) != 0 {
		t.Errorf("held deliveries are due: %v", ids(got))
	}
	// Paused as well: enabling it releases nothing until it is resumed.
	if err := d.PauseWebhook(ctx, w.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := d.PauseWebhook(ctx, "nope", at); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("pause an unknown webhook: %v", err)
	}
	if err := db.EnableWebhook(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if sts, err := d.WebhookStates(ctx, []string{w.ID}); err != nil || sts[w.ID].PausedAt == nil || !sts[w.ID].PausedAt.Equal(at) {
		t.Fatalf("paused webhook's state: %+v %v", sts[w.ID], err)
	}
	if n, err := d.ReleaseHeld(ctx, at); n != 0 || err != nil {
		t.Fatalf("released while paused: %d %v", n, err)
	}
	if err := d.ResumeWebhook(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.ResumeWebhook(ctx, "nope"); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("resume an unknown webhook: %v", err)
	}
	if n, err := d.ReleaseHeld(ctx, at); n != 1 || err != nil {
		t.Fatalf("release held: %d %v", n, err)
	}
	if got, _ := d.DueDeliveries(ctx, at, 10, nil); !same(ids(got), ids(kept)) {
		t.Errorf("due after the release: %v", ids(got))
	}
}

func exerciseReplicas(t *testing.T, d driver.Driver, _ *store.DB) {
	ctx := context.Background()
	if err := d.Heartbeat(ctx, "rep_a", now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second is an update
		if err := d.Heartbeat(ctx, "rep_b", now()); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := d.SilentReplicas(ctx, "rep_b", now().Add(-5*time.Second)); err != nil || !same(got, []string{"rep_a"}) {
		t.Fatalf("silent: %v %v", got, err)
	}
	if got, _ := d.SilentReplicas(ctx, "rep_a", now().Add(time.Second)); !same(got, []string{"rep_b"}) {
		t.Errorf("silent, but self: %v", got)
	}
	if err := d.ForgetReplica(ctx, "rep_a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.SilentReplicas(ctx, "rep_b", now().Add(time.Second)); len(got) != 0 {
		t.Errorf("a forgotten replica is listed: %v", got)
	}
}

func exerciseHealth(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	w := webhook(t, db, "health", nil)
	n0, local := d.WebhookWrites()
	since := now().Add(-time.Hour)
	if _, err := d.SetFailingSince(ctx, w.ID, since); err != nil {
		t.Fatal(err)
	}
	sts, err := d.WebhookStates(ctx, []string{w.ID, "wh_none"})
	if err != nil || len(sts) != 1 || sts[w.ID].FailingSince == nil || !sts[w.ID].FailingSince.Equal(since) {
		t.Fatalf("states: %v %v", sts, err)
	}
	read, err := d.WebhookByID(ctx, w.ID)
	if err != nil || !sts[w.ID].Same(read) || read.URL != w.URL {
		t.Fatalf("webhook by id: %+v %v", read, err)
	}
	if _, err := d.MarkHealthy(ctx, []string{w.ID}); err != nil {
		t.Fatal(err)
	}
	if err := d.DisableWebhook(ctx, w.ID, "gone"); err != nil {
		t.Fatal(err)
	}
	sts, _ = d.WebhookStates(ctx, []string{w.ID})
	if st := sts[w.ID]; st.FailingSince != nil || st.DisabledAt == nil || st.DisabledReason != "gone" {
		t.Errorf("after healthy and disabled: %+v", st)
	}
	if n, err := d.DisabledWebhooks(ctx); n != 1 || err != nil {
		t.Errorf("disabled webhooks: %d %v", n, err)
	}
	if _, err := d.WebhookByID(ctx, "wh_none"); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("a missing webhook: %v", err)
	}
	if n1, _ := d.WebhookWrites(); local && n1 <= n0 {
		t.Errorf("webhook writes counted %d then %d, though this process sees every write", n0, n1)
	}
}

// exerciseHealthOnce: a run of failures starts, ends and the webhook is disabled once,
// whoever tries it again (another replica, a later batch), and only the call that did it is
// told so; it is what publishes the operator events once.
func exerciseHealthOnce(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	a, b := webhook(t, db, "once-a", nil), webhook(t, db, "once-b", nil)
	first, later := now().Add(-time.Hour), now()
	if changed, err := d.SetFailingSince(ctx, a.ID, first); err != nil || !changed {
		t.Fatalf("first failure: changed %v, %v", changed, err)
	}
	if changed, err := d.SetFailingSince(ctx, a.ID, later); err != nil || changed {
		t.Fatalf("a failure within the run: changed %v, %v", changed, err)
	}
	if changed, _ := d.SetFailingSince(ctx, "wh_none", later); changed {
		t.Error("an unknown webhook started failing")
	}
	sts, _ := d.WebhookStates(ctx, []string{a.ID})
	if got := sts[a.ID].FailingSince; got == nil || !got.Equal(first) {
		t.Errorf("failing since %v, want %v (the run's first failure)", got, first)
	}
	// Concurrent first failures, as replicas record them: exactly one starts the run.
	var starts atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if changed, err := d.SetFailingSince(ctx, b.ID, later.Add(time.Duration(i)*time.Millisecond)); err != nil {
				t.Error(err)
			} else if changed {
				starts.Add(1)
			}
		})
	}
	wg.Wait()
	if n := starts.Load(); n != 1 {
		t.Errorf("%d concurrent first failures were told they started the run, want 1", n)
	}
	// a and b fail, c never did: MarkHealthy ends two runs, then none.
	c := webhook(t, db, "once-c", nil)
	ended, err := d.MarkHealthy(ctx, []string{a.ID, b.ID, c.ID, "wh_none"})
	slices.Sort(ended)
	if err != nil || !same(ended, sorted(a.ID, b.ID)) {
		t.Fatalf("ended %v, %v; want %v", ended, err, sorted(a.ID, b.ID))
	}
	if ended, err := d.MarkHealthy(ctx, []string{a.ID, b.ID, c.ID}); err != nil || len(ended) != 0 {
		t.Fatalf("healthy webhooks ended again: %v, %v", ended, err)
	}
	if ended, err := d.MarkHealthy(ctx, nil); err != nil || len(ended) != 0 {
		t.Fatalf("none: %v, %v", ended, err)
	}
	// Inside a transaction too (the recorder's).
	if _, err := d.SetFailingSince(ctx, a.ID, later); err != nil {
		t.Fatal(err)
	}
	err = d.InTx(ctx, func(tx driver.Executor) error {
		ended, err := tx.MarkHealthy(ctx, []string{a.ID, b.ID})
		if err == nil && !same(ended, []string{a.ID}) {
			t.Errorf("in a transaction: ended %v, want %v", ended, []string{a.ID})
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Disabled once: the second call keeps the first reason.
	if changed, err := d.DisableOnce(ctx, a.ID, "answered 410"); err != nil || !changed {
		t.Fatalf("disable: changed %v, %v", changed, err)
	}
	if changed, err := d.DisableOnce(ctx, a.ID, "failing for 5 days"); err != nil || changed {
		t.Fatalf("disable again: changed %v, %v", changed, err)
	}
	sts, _ = d.WebhookStates(ctx, []string{a.ID})
	if st := sts[a.ID]; st.DisabledAt == nil || st.DisabledReason != "answered 410" {
		t.Errorf("after disabling twice: %+v", st)
	}
	if changed, _ := d.DisableOnce(ctx, "wh_none", "x"); changed {
		t.Error("an unknown webhook was disabled")
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func exerciseRecovery(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	w := webhook(t, db, "recover", nil)
	since := now().Add(-time.Minute)
	ds := publish(t, d, "evt_r", []*store.Webhook{w, w, w}, claimed("rep_a", now().Add(time.Hour)))
	next := now().Add(time.Hour)
	settle := []*store.Delivery{
		{ID: ds[0].ID, Status: store.DeliveryFailed, Attempts: 1, ClaimedBy: "rep_a"},
		{ID: ds[1].ID, Status: store.DeliveryFailed, Attempts: 1, ClaimedBy: "rep_a"},
		{ID: ds[2].ID, Status: store.DeliveryPending, Attempts: 1, NextAttemptAt: &next, ClaimedBy: "rep_a"},
	}
	as := make([]*store.Attempt, len(settle))
	for i, x := range settle {
		as[i] = &store.Attempt{ID: "att_" + x.ID, DeliveryID: x.ID, Number: 1, URL: w.URL, StartedAt: now(), ResponseStatus: 500}
	}
	if held, err := d.Settle(ctx, settle, as); err != nil || !held[0] || !held[1] || !held[2] {
		t.Fatal(held, err)
	}
	failed, err := d.FailedDeliveries(ctx, w.ID, since, 1)
	if err != nil || !same(ids(failed), []string{ds[0].ID}) {
		t.Fatalf("failed, a page of 1: %v %v", ids(failed), err)
	}
	waiting, err := d.WaitingDeliveries(ctx, w.ID, since, now().Add(time.Second), 10)
	if err != nil || !same(waiting, []string{ds[2].ID}) {
		t.Fatalf("waiting: %v %v", waiting, err)
	}
	at := now()
	x, err := d.Requeue(ctx, ds[0].ID, at)
	if err != nil || x.Status != store.DeliveryPending || x.Attempts != 1 {
		t.Fatalf("requeue: %+v %v", x, err)
	}
	if _, err := d.Requeue(ctx, ds[0].ID, at); store.ErrorCode(err) != store.ECONFLICT {
		t.Errorf("requeue a pending delivery: %v", err)
	}
	if _, err := d.Requeue(ctx, "msg_none", at); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("requeue a missing delivery: %v", err)
	}
	if err := d.AttemptAt(ctx, waiting, at); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.DueDeliveries(ctx, at, 10, nil); len(got) != 2 {
		t.Errorf("due after requeue and attempt-now: %v", ids(got))
	}
	r := &store.Recovery{ID: "rec_1", WebhookID: w.ID, Since: since}
	if err := d.CreateRecovery(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := d.AdvanceRecovery(ctx, r.ID, 2, false); err != nil {
		t.Fatal(err)
	}
	if err := d.AdvanceRecovery(ctx, r.ID, 1, true); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetRecovery(ctx, r.ID)
	if err != nil || got.Done != 3 || got.Status != store.RecoveryDone {
		t.Errorf("recovery: %+v %v", got, err)
	}
}

func exercisePrune(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	w := webhook(t, db, "prune", nil)
	ds := publish(t, d, "evt_p", []*store.Webhook{w, w}, claimed("rep_a", now().Add(time.Hour)))
	at := now()
	if _, err := d.Settle(ctx, []*store.Delivery{{ID: ds[0].ID, Status: store.DeliverySucceeded, Attempts: 1, DeliveredAt: &at, ClaimedBy: "rep_a"}},
		[]*store.Attempt{{ID: "att_p", DeliveryID: ds[0].ID, Number: 1, URL: w.URL, StartedAt: at}}); err != nil {
		t.Fatal(err)
	}
	if a, dl, ev, err := d.Prune(ctx, at.Add(-time.Hour)); a+dl+ev != 0 || err != nil {
		t.Errorf("pruned what is newer: %d %d %d %v", a, dl, ev, err)
	}
	if a, dl, ev, err := d.Prune(ctx, at.Add(time.Hour)); a != 1 || dl != 1 || ev != 0 || err != nil {
		t.Errorf("prune: %d attempts %d deliveries %d events %v, want 1 1 0 (the pending delivery keeps its event)", a, dl, ev, err)
	}
}

// A prune in batches of two deletes what one statement would: events of one time
// (ties in the order the batches walk), events kept for their pending delivery among
// them, an event no webhook matched, and one newer than the cutoff.
func exercisePruneBatches(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	db.PruneBatch = 2
	w := webhook(t, db, "batches", nil)
	at := now().Add(-2 * time.Hour)
	var evs []*store.Event
	var ds []store.Delivery
	var as []*store.Attempt
	add := func(id string, created time.Time, pending bool, deliveries int) {
		evs = append(evs, &store.Event{ID: id, Type: "user.created", Data: []byte(`{}`), OccurredAt: created, CreatedAt: created, Deliveries: deliveries})
		for i := range deliveries {
			x := store.Delivery{ID: fmt.Sprintf("%s_d%d", id, i), EventID: id, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create",
				Status: store.DeliverySucceeded, Attempts: 1, CreatedAt: created, UpdatedAt: created}
			if pending && i == 1 {
				x.Status = store.DeliveryPending
				x.NextAttemptAt = &created
			}
			ds = append(ds, x)
			as = append(as, &store.Attempt{ID: "att_" + x.ID, DeliveryID: x.ID, Number: 1, URL: w.URL, StartedAt: created})
		}
	}
	for i := range 7 {
		add(fmt.Sprintf("evt_b%d", i), at, i == 2 || i == 5, 2)
	}
	add("evt_none", at, false, 0)
	add("evt_new", at.Add(2*time.Hour), false, 1)
	if err := d.CreateEvents(ctx, evs, ds); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Settle(ctx, nil, as); err != nil {
		t.Fatal(err)
	}
	a, dl, ev, err := d.Prune(ctx, at.Add(time.Hour))
	if a != 14 || dl != 12 || ev != 6 || err != nil {
		t.Errorf("prune: %d attempts %d deliveries %d events %v, want 14 12 6", a, dl, ev, err)
	}
	var left []string
	for _, id := range []string{"evt_b2", "evt_b5", "evt_new", "evt_b0", "evt_none"} {
		if _, err := db.GetEvent(ctx, id); err == nil {
			left = append(left, id)
		}
	}
	if !same(left, []string{"evt_b2", "evt_b5", "evt_new"}) {
		t.Errorf("events left: %v, want the two with a pending delivery and the new one", left)
	}
	if a, dl, ev, err := d.Prune(ctx, at.Add(time.Hour)); a+dl+ev != 0 || err != nil {
		t.Errorf("second prune: %d %d %d %v, want nothing", a, dl, ev, err)
	}
}

// The space of the rows a prune deleted is reused once Reclaim has run: the same rows
// written again leave the store no larger than the first ones made it.
func exerciseReclaim(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	w := webhook(t, db, "reclaim", nil)
	body := strings.Repeat("0123456789abcdef", 64) // 1 KiB an attempt
	at := now().Add(-2 * time.Hour)
	write := func(round int) {
		t.Helper()
		var evs []*store.Event
		var ds []store.Delivery
		var as []*store.Attempt
		for i := range 500 {
			id := fmt.Sprintf("evt_r%d_%d", round, i)
			evs = append(evs, &store.Event{ID: id, Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at, Deliveries: 1})
			x := store.Delivery{ID: "msg_" + id, EventID: id, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create",
				Status: store.DeliverySucceeded, Attempts: 1, CreatedAt: at, UpdatedAt: at}
			ds = append(ds, x)
			as = append(as, &store.Attempt{ID: "att_" + id, DeliveryID: x.ID, Number: 1, URL: w.URL, StartedAt: at, RequestBody: body})
		}
		if err := d.CreateEvents(ctx, evs, ds); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Settle(ctx, nil, as); err != nil {
			t.Fatal(err)
		}
	}
	size := func() int64 {
		t.Helper()
		q := "SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size())"
		if db.Backend() == store.BackendPostgres {
			q = "SELECT pg_relation_size('attempts') + pg_relation_size('deliveries') + pg_relation_size('events')"
		}
		var n int64
		if err := db.SQL().QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	vacuums := func() int64 {
		t.Helper()
		if db.Backend() != store.BackendPostgres {
			return 0
		}
		var n int64
		if err := db.SQL().QueryRowContext(ctx, `SELECT coalesce(sum(vacuum_count), 0) FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname IN ('attempts', 'deliveries', 'events')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	write(1)
	first := size()
	if a, dl, ev, err := d.Prune(ctx, at.Add(time.Hour)); a != 500 || dl != 500 || ev != 500 || err != nil {
		t.Fatalf("prune: %d %d %d %v, want 500 of each", a, dl, ev, err)
	}
	before := vacuums()
	if err := d.Reclaim(ctx); err != nil {
		t.Fatal(err)
	}
	if db.Backend() == store.BackendPostgres {
		if after := vacuums(); after < before+3 {
			t.Errorf("reclaim vacuumed %d of attempts, deliveries and events, want all 3", after-before)
		}
	}
	write(2)
	// Reused, the rows written again add little; not reused, as much as the first time
	// (on PostgreSQL without the vacuum: 1.65 MB against 0.84). PostgreSQL may still
	// extend a table by a few pages, by a connection's cached last page: a quarter is
	// the slack. On PostgreSQL a vacuum frees only the rows no transaction of the server
	// may still see, and other tests' transactions on the same server can hold them (a
	// CI run measured no reuse at all beside the rest of the suite): there the vacuum
	// itself is asserted above, and the reuse is reported.
	if again := size(); again > first+first/4 {
		if db.Backend() == store.BackendPostgres {
			t.Logf("the rows written again grew the store: %d bytes, %d the first time (dead rows still visible to another transaction?)", again, first)
		} else {
			t.Errorf("the rows written again after the prune grew the store: %d bytes, %d the first time", again, first)
		}
	}
}

// A rate limit's pace and a breaker are pruned once their webhook is deleted, or once
// they ended before the cutoff; those in force are kept.
func exercisePruneEndpoints(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	kept, gone, quiet := webhook(t, db, "kept", nil), webhook(t, db, "gone", nil), webhook(t, db, "quiet", nil)
	at := now()
	for _, w := range []*store.Webhook{kept, gone, quiet} {
		if _, _, err := d.ReserveSend(ctx, w.ID, at, time.Second, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := d.ReserveSend(ctx, kept.ID, at.Add(2*time.Hour), time.Second, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*store.Webhook{kept, gone} {
		if _, _, err := d.OpenBreaker(ctx, w.ID, at.Add(2*time.Hour), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := d.OpenBreaker(ctx, quiet.ID, at, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*store.Webhook{kept, gone} { // ordered webhooks' lane sequences
		if _, err := db.SQL().ExecContext(ctx, "INSERT INTO webhook_sequences (webhook_id, seq) VALUES ('"+w.ID+"', 7)"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteWebhook(ctx, store.WebhookKey{Dialect: gone.Dialect, ExternalID: gone.ExternalID}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := d.Prune(ctx, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var paced []string
	rows, err := db.SQL().QueryContext(ctx, "SELECT webhook_id FROM webhook_rates ORDER BY webhook_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		paced = append(paced, id)
	}
	if !same(paced, []string{kept.ID}) {
		t.Errorf("paces after prune: %v, want only the live, recent one %s", paced, kept.ID)
	}
	open, err := d.OpenBreakers(ctx)
	if err != nil || len(open) != 1 || open[0].WebhookID != kept.ID {
		t.Errorf("breakers after prune: %+v %v, want only the live, open one %s", open, err, kept.ID)
	}
	var seqs []string
	srows, err := db.SQL().QueryContext(ctx, "SELECT webhook_id FROM webhook_sequences WHERE seq = 7")
	if err != nil {
		t.Fatal(err)
	}
	defer srows.Close()
	for srows.Next() {
		var id string
		if err := srows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, id)
	}
	if !same(seqs, []string{kept.ID}) {
		t.Errorf("lane sequences after prune: %v, want only the live webhook's %s", seqs, kept.ID)
	}
}

func exerciseBreakers(t *testing.T, d driver.Driver, _ *store.DB) {
	ctx := context.Background()
	at := now()
	b, opened, err := d.OpenBreaker(ctx, "wh_a", at, time.Second)
	if err != nil || !opened || b == nil || !b.Until().Equal(at.Add(time.Second)) || b.Pause() != time.Second {
		t.Fatalf("open: %+v %v %v", b, opened, err)
	}
	if st := b.State(at); st != store.CircuitOpen {
		t.Errorf("state while paused: %s", st)
	}
	// Another replica opening it meanwhile keeps the first opening.
	if b, opened, err := d.OpenBreaker(ctx, "wh_a", at.Add(500*time.Millisecond), time.Second); err != nil || opened || !b.Until().Equal(at.Add(time.Second)) {
		t.Errorf("opened twice: %+v %v %v", b, opened, err)
	}
	// No probe during the pause.
	if b, err := d.ProbeBreaker(ctx, "wh_a", "d1", at, time.Minute); err != nil || b != nil {
		t.Errorf("probe during the pause: %+v %v", b, err)
	}
	// After it, one probe of many asking at once.
	after := at.Add(time.Second)
	won := make(chan string, 8)
	for i := range 8 {
		go func() {
			id := fmt.Sprintf("d%d", i)
			b, err := d.ProbeBreaker(ctx, "wh_a", id, after, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if b != nil {
				id = "won:" + id
			}
			won <- id
		}()
	}
	var winner string
	for range 8 {
		if id := <-won; len(id) > 4 && id[:4] == "won:" {
			if winner != "" {
				t.Errorf("two probes: %s and %s", winner, id)
			}
			winner = id[4:]
		}
	}
	if winner == "" {
		t.Fatal("no probe given")
	}
	open, err := d.OpenBreakers(ctx)
	if err != nil || len(open) != 1 || open[0].Prober != winner || !open[0].ProbeOut(after) || open[0].State(after) != store.CircuitHalfOpen {
		t.Fatalf("half-open breaker: %+v %v", open, err)
	}
	// The winner asking again keeps it; a probe out for too long is given to another.
	if b, err := d.ProbeBreaker(ctx, "wh_a", winner, after, time.Minute); err != nil || b == nil {
		t.Errorf("the probe's own delivery: %+v %v", b, err)
	}
	if b, err := d.ProbeBreaker(ctx, "wh_a", "late", after.Add(2*time.Minute), time.Minute); err != nil || b == nil {
		t.Fatalf("a probe that never answered: %+v %v", b, err)
	}
	// Only the probe out reopens, for the pause given.
	if ok, err := d.ReopenBreaker(ctx, "wh_a", winner, after.Add(time.Hour), 2*time.Second); err != nil || ok {
		t.Errorf("reopened by a stale probe: %v %v", ok, err)
	}
	if ok, err := d.ReopenBreaker(ctx, "wh_a", "late", after.Add(2*time.Second), 2*time.Second); err != nil || !ok {
		t.Errorf("reopen: %v %v", ok, err)
	}
	got, err := d.BreakersOf(ctx, []string{"wh_a", "wh_none"})
	if b := got["wh_a"]; err != nil || len(got) != 1 || b.Pause() != 2*time.Second || b.ProbeOut(after) || !b.Until().Equal(after.Add(2*time.Second)) {
		t.Errorf("reopened breaker: %+v %v", got, err)
	}
	if ok, err := d.CloseBreaker(ctx, "wh_a", now()); err != nil || !ok {
		t.Errorf("close: %v %v", ok, err)
	}
	if ok, err := d.CloseBreaker(ctx, "wh_a", now()); err != nil || ok {
		t.Errorf("closed twice: %v %v", ok, err)
	}
	if open, err := d.OpenBreakers(ctx); err != nil || len(open) != 0 {
		t.Errorf("after close: %+v %v", open, err)
	}
	if b, err := d.ProbeBreaker(ctx, "wh_a", "d1", after.Add(time.Hour), time.Minute); err != nil || b != nil {
		t.Errorf("a probe of a closed breaker: %+v %v", b, err)
	}
	var none *store.WebhookBreaker
	if st := none.State(at); st != store.CircuitClosed {
		t.Errorf("no breaker: %s", st)
	}
}

// jobArgs is a job the contract inserts and never works.
type jobArgs struct{ N int }

func (jobArgs) Kind() string { return "drivertest.job" }

func exerciseTx(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	q, err := d.Queue(ctx, &river.Config{}) // insert-only: no queues, no workers
	if err != nil {
		t.Fatal(err)
	}
	w := webhook(t, db, "tx", nil)
	jobs := func() (n int) {
		if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM river_job WHERE kind = 'drivertest.job'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	boom := fmt.Errorf("rolled back")
	err = d.InTx(ctx, func(tx driver.Executor) error {
		publish(t, tx, "evt_rolled", []*store.Webhook{w}, nil)
		if err := q.InsertTx(ctx, tx, jobArgs{1}); err != nil {
			return err
		}
		return boom
	})
	if err != boom && store.ErrorCode(err) == "" {
		t.Fatalf("a failed transaction: %v", err)
	}
	if _, err := d.GetEvent(ctx, "evt_rolled"); store.ErrorCode(err) != store.ENOTFOUND || jobs() != 0 {
		t.Fatalf("a rolled back transaction left its event (%v) or its job (%d)", err, jobs())
	}
	if err := d.InTx(ctx, func(tx driver.Executor) error {
		publish(t, tx, "evt_kept", []*store.Webhook{w}, nil)
		return q.InsertTx(ctx, tx, jobArgs{2})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetEvent(ctx, "evt_kept"); err != nil || jobs() != 1 {
		t.Errorf("a committed transaction lost its event (%v) or its job (%d)", err, jobs())
	}
	if err := q.InsertTx(ctx, d, jobArgs{3}); err == nil {
		t.Error("a job inserted outside a transaction of the driver")
	}
}

func exerciseReserve(t *testing.T, d driver.Driver, _ *store.DB) {
	ctx := context.Background()
	at0 := now()
	iv := 100 * time.Millisecond
	for i := range 3 {
		at, ok, err := d.ReserveSend(ctx, "wh_a", at0, iv, time.Second)
		if err != nil || !ok || !at.Equal(at0.Add(time.Duration(i)*iv)) {
			t.Fatalf("reservation %d: %v %v %v", i, at, ok, err)
		}
	}
	// Another webhook has its own pace.
	if at, ok, err := d.ReserveSend(ctx, "wh_b", at0, iv, time.Second); err != nil || !ok || !at.Equal(at0) {
		t.Errorf("another webhook: %v %v %v", at, ok, err)
	}
	// The next start is 300 ms away: not reserved within 200 ms, said to be in reach in 100.
	if at, ok, err := d.ReserveSend(ctx, "wh_a", at0, iv, 200*time.Millisecond); err != nil || ok || !at.Equal(at0.Add(100*time.Millisecond)) {
		t.Errorf("beyond the horizon: %v %v %v", at, ok, err)
	}
	// Later than every reservation, a start is now.
	later := at0.Add(time.Minute)
	if at, ok, err := d.ReserveSend(ctx, "wh_a", later, iv, 0); err != nil || !ok || !at.Equal(later) {
		t.Errorf("after a quiet minute: %v %v %v", at, ok, err)
	}
}

func exerciseLanes(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	w, other := webhook(t, db, "lanes", nil), webhook(t, db, "plain", nil)
	lane := func(key string, edit func(*store.Delivery)) func(*store.Delivery) {
		return func(x *store.Delivery) {
			x.Lane = &key
			if edit != nil {
				edit(x)
			}
		}
	}
	get := func(id string) *store.Delivery {
		t.Helper()
		x, err := db.GetDelivery(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	hour := now().Add(time.Hour)
	// One group: two deliveries of lane a asking to be claimed, one of lane b due, one of
	// lane a due, one unordered due.
	at := now().Add(-time.Minute)
	ev := &store.Event{ID: "evt_l", Type: "user.created", OccurredAt: at, CreatedAt: at, Deliveries: 5}
	mk := func(id string, wh *store.Webhook, edit func(*store.Delivery)) store.Delivery {
		x := store.Delivery{ID: id, EventID: ev.ID, WebhookID: wh.ID, Dialect: wh.Dialect, EventName: "user.create",
			Status: store.DeliveryPending, CreatedAt: at, UpdatedAt: at}
		edit(&x)
		return x
	}
	ds := []store.Delivery{
		mk("a1", w, lane("a", claimed("rep_a", hour))),
		mk("a2", w, lane("a", claimed("rep_a", hour))),
		mk("b1", w, lane("b", due(at))),
		mk("a3", w, lane("a", due(at))),
		mk("u1", other, due(at)),
	}
	if err := d.CreateEvents(ctx, []*store.Event{ev}, ds); err != nil {
		t.Fatal(err)
	}
	if ds[0].ClaimedUntil == nil || ds[1].ClaimedUntil != nil || ds[1].ClaimedBy != "" || ds[2].NextAttemptAt == nil || ds[3].NextAttemptAt != nil || ds[4].NextAttemptAt == nil {
		t.Fatalf("a lane's head only is claimed or due: %+v", ds)
	}
	if x := get("a2"); x.ClaimedUntil != nil || x.NextAttemptAt != nil || x.HeldAt != nil || x.Lane == nil || *x.Lane != "a" {
		t.Errorf("a delivery waiting for its lane: %+v", x)
	}
	if a1, a2, a3 := get("a1"), get("a2"), get("a3"); !(a1.LaneSeq < a2.LaneSeq && a2.LaneSeq < a3.LaneSeq) || get("u1").Lane != nil {
		t.Errorf("lane order: %d %d %d", a1.LaneSeq, a2.LaneSeq, a3.LaneSeq)
	}
	// A later publish to a busy lane waits; to an idle lane it is claimed.
	later := publish(t, d, "evt_l2", []*store.Webhook{w}, lane("a", claimed("rep_b", hour)))
	idle := publish(t, d, "evt_l3", []*store.Webhook{w}, lane("c", claimed("rep_b", hour)))
	if later[0].ClaimedUntil != nil || idle[0].ClaimedUntil == nil {
		t.Fatalf("publish to a busy lane and to an idle one: %+v %+v", later[0], idle[0])
	}
	// Made due by hand, a delivery behind its lane's head is neither due nor claimed.
	if err := d.AttemptAt(ctx, []string{"a3"}, at); err != nil {
		t.Fatal(err)
	}
	got, err := d.DueDeliveries(ctx, now(), 10, nil)
	if err != nil || !same(ids(got), []string{"b1", "u1"}) && !same(ids(got), []string{"u1", "b1"}) {
		t.Fatalf("due: %v %v, want the head of lane b and the unordered one", ids(got), err)
	}
	if cl, err := d.ClaimDue(ctx, []store.Delivery{*get("a3")}, nil, "rep_b", hour); err != nil || len(cl) != 0 {
		t.Errorf("claimed behind its lane's head: %v %v", cl, err)
	}
	// The head succeeds: the next one is due, since it was published.
	ok := &store.Delivery{ID: "a1", WebhookID: w.ID, Lane: ds[0].Lane, Status: store.DeliverySucceeded, Attempts: 1, ClaimedBy: "rep_a"}
	okAttempt := &store.Attempt{ID: "att_a1", DeliveryID: "a1", Number: 1, URL: w.URL, StartedAt: now(), ResponseStatus: 200}
	if h, err := d.Settle(ctx, []*store.Delivery{ok}, []*store.Attempt{okAttempt}); err != nil || !h[0] {
		t.Fatalf("settle the head: %v %v", h, err)
	}
	if x := get("a2"); x.NextAttemptAt == nil || !x.NextAttemptAt.Equal(at) {
		t.Errorf("the next of the lane after its head succeeded: %+v", x)
	}
	got, _ = d.DueDeliveries(ctx, now(), 10, nil)
	if !slices.Contains(ids(got), "a2") || slices.Contains(ids(got), "a3") {
		t.Errorf("due: %v, want a2 and not a3", ids(got))
	}
	cl, err := d.ClaimDue(ctx, []store.Delivery{*get("a2"), *get("a3")}, nil, "rep_a", hour)
	if err != nil || !same(ids(cl), []string{"a2"}) {
		t.Fatalf("claim a lane's head and the next: %v %v", ids(cl), err)
	}
	// Its attempts exhausted, it lets the lane move on: recorded with its successors,
	// the one that heads the lane then is claimed, the one behind it is not.
	gaveUp := &store.Delivery{ID: "a2", WebhookID: w.ID, Lane: ds[1].Lane, Status: store.DeliveryFailed, Attempts: 1, ClaimedBy: "rep_a"}
	gaveUpAttempt := &store.Attempt{ID: "att_a2", DeliveryID: "a2", Number: 1, URL: w.URL, StartedAt: now(), ResponseStatus: 500}
	h, cl, err := d.SettleAndClaim(ctx, []*store.Delivery{gaveUp}, []*store.Attempt{gaveUpAttempt}, []store.Delivery{*get("a3"), *get(later[0].ID)}, "rep_a", hour)
	if err != nil || !h[0] || !same(ids(cl), []string{"a3"}) || cl[0].ClaimedBy != "rep_a" || !cl[0].ClaimedUntil.Equal(hour) {
		t.Fatalf("the next after a delivery given up: %v %v %v", h, ids(cl), err)
	}
	if x := get("a3"); x.ClaimedUntil == nil || x.ClaimedBy != "rep_a" {
		t.Errorf("the successor claimed: %+v", x)
	}
	// Retried, the failed delivery goes to the end of its lane, behind the one in flight
	// and the later one waiting.
	if _, err := d.Requeue(ctx, "a2", now()); err != nil {
		t.Fatal(err)
	}
	if x := get("a2"); x.Status != store.DeliveryPending || x.NextAttemptAt != nil || x.LaneSeq <= get(later[0].ID).LaneSeq {
		t.Errorf("a retried delivery of a lane: %+v", x)
	}
	// A replica's claims released: the head is due again, the rest still wait.
	if n, err := d.ReleaseClaimsOf(ctx, "rep_a", at); err != nil || n != 1 {
		t.Fatalf("release: %d %v", n, err)
	}
	got, _ = d.DueDeliveries(ctx, now(), 10, nil)
	if !slices.Contains(ids(got), "a3") || slices.Contains(ids(got), later[0].ID) || slices.Contains(ids(got), "a2") {
		t.Errorf("due after a release: %v", ids(got))
	}
	// Held deliveries of a lane: released, only the head is due.
	hold := now()
	h1 := publish(t, d, "evt_h1", []*store.Webhook{w}, lane("h", func(x *store.Delivery) { x.HeldAt = &hold }))
	h2 := publish(t, d, "evt_h2", []*store.Webhook{w}, lane("h", func(x *store.Delivery) { x.HeldAt = &hold }))
	if _, err := d.ReleaseHeld(ctx, hold); err != nil {
		t.Fatal(err)
	}
	if x, y := get(h1[0].ID), get(h2[0].ID); x.NextAttemptAt == nil || y.NextAttemptAt != nil || y.HeldAt != nil {
		t.Errorf("released lane: %+v %+v", x, y)
	}
	// A head left waiting (its promotion missed) is made due by PromoteLaneHeads.
	if _, err := db.SQL().ExecContext(ctx, "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL WHERE id = '"+h1[0].ID+"'"); err != nil {
		t.Fatal(err)
	}
	if n, err := d.PromoteLaneHeads(ctx); err != nil || n != 1 {
		t.Fatalf("promote lane heads: %d %v", n, err)
	}
	if y := get(h2[0].ID); y.NextAttemptAt == nil {
		t.Errorf("a head left waiting: %+v", y)
	}
	if n, err := d.ScheduleUnscheduled(ctx, now()); err != nil || n != 0 {
		t.Errorf("deliveries waiting for their lane scheduled: %d %v", n, err)
	}
}

// An open breaker's webhook's due deliveries wait for the pause's end as their due time,
// not only by being left out of the look: the look reads the due index by time, and a
// backlog left due before now would be read past at every look.
func exerciseBreakerDefersDue(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	a, b := webhook(t, db, "down", nil), webhook(t, db, "up", nil)
	at := now()
	old := at.Add(-time.Minute)
	backlog := append(publish(t, d, "evt_1", []*store.Webhook{a, b}, due(old)), publish(t, d, "evt_2", []*store.Webhook{a}, due(old))...)
	retry := publish(t, d, "evt_retry", []*store.Webhook{a}, due(at.Add(time.Hour)))
	inFlight := publish(t, d, "evt_claimed", []*store.Webhook{a}, func(x *store.Delivery) { x.NextAttemptAt = &old; claimed("rep_x", at.Add(time.Hour))(x) })

	if _, opened, err := d.OpenBreaker(ctx, a.ID, at, time.Second); err != nil || !opened {
		t.Fatalf("open: %v %v", opened, err)
	}
	// Now, due is only the healthy webhook's, even without leaving a out.
	if got, err := d.DueDeliveries(ctx, at, 10, nil); err != nil || !same(ids(got), []string{backlog[1].ID}) {
		t.Errorf("due while a's breaker is open: %v %v, want only b's %s", ids(got), err, backlog[1].ID)
	}
	end := at.Add(time.Second)
	check := func(when string, want time.Time) {
		t.Helper()
		for _, id := range []string{backlog[0].ID, backlog[2].ID} {
			x, err := db.GetDelivery(ctx, id)
			if err != nil || x.NextAttemptAt == nil || !x.NextAttemptAt.Equal(want) {
				t.Errorf("%s: %s due at %v %v, want %v", when, id, x.NextAttemptAt, err, want)
			}
		}
		if x, err := db.GetDelivery(ctx, retry[0].ID); err != nil || !x.NextAttemptAt.Equal(at.Add(time.Hour)) {
			t.Errorf("%s: a retry due after the pause moved to %v %v", when, x.NextAttemptAt, err)
		}
		if x, err := db.GetDelivery(ctx, inFlight[0].ID); err != nil || !x.NextAttemptAt.Equal(old) || x.ClaimedBy != "rep_x" {
			t.Errorf("%s: a claimed delivery changed: %+v %v", when, x, err)
		}
	}
	check("opened", end)
	// At the pause's end the backlog is due again, for the probe and, after it, the rest.
	if got, err := d.DueDeliveries(ctx, end, 10, nil); err != nil || len(got) != 3 {
		t.Errorf("due at the pause's end: %v %v, want a's two and b's", ids(got), err)
	}
	if b, err := d.ProbeBreaker(ctx, a.ID, backlog[0].ID, end, time.Minute); err != nil || b == nil {
		t.Fatalf("probe: %+v %v", b, err)
	}
	// A failed probe moves the backlog to the new pause's end; a stale one moves nothing.
	if ok, err := d.ReopenBreaker(ctx, a.ID, "stale", end.Add(time.Hour), time.Hour); err != nil || ok {
		t.Errorf("stale reopen: %v %v", ok, err)
	}
	check("after a stale reopen", end)
	if ok, err := d.ReopenBreaker(ctx, a.ID, backlog[0].ID, end.Add(2*time.Second), 2*time.Second); err != nil || !ok {
		t.Fatalf("reopen: %v %v", ok, err)
	}
	check("reopened", end.Add(2*time.Second))
}

// The deliveries published while a breaker is open are held, not due: another pause does
// not move them, the look for held deliveries leaves them while it is open, and its close
// makes them due at once. When nothing of the webhook is due for the probe, the newest
// held delivery is, at the pause's end; a paused webhook's stay held until it is resumed,
// then one goes for the probe.
func exerciseBreakerHolds(t *testing.T, d driver.Driver, db *store.DB) {
	ctx := context.Background()
	a := webhook(t, db, "down", nil)
	paused := webhook(t, db, "paused", nil)
	at := now()
	if err := db.PauseWebhook(ctx, paused.ID, at); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*store.Webhook{a, paused} {
		if _, opened, err := d.OpenBreaker(ctx, w.ID, at, time.Second); err != nil || !opened {
			t.Fatalf("open: %v %v", opened, err)
		}
	}
	var held, heldPaused []string
	for i := range 3 {
		ds := publish(t, d, fmt.Sprintf("evt_held_%d", i), []*store.Webhook{a, paused}, func(x *store.Delivery) {
			h := at.Add(time.Duration(i) * time.Millisecond)
			x.HeldAt = &h
		})
		held, heldPaused = append(held, ds[0].ID), append(heldPaused, ds[1].ID)
	}
	if n, err := d.ReleaseHeld(ctx, at); err != nil || n != 0 {
		t.Errorf("released while the breaker is open: %d %v", n, err)
	}
	end := at.Add(time.Second)
	for _, w := range []*store.Webhook{a, paused} {
		if b, err := d.ProbeBreaker(ctx, w.ID, "probe", end, time.Minute); err != nil || b == nil {
			t.Fatalf("probe: %+v %v", b, err)
		}
		if ok, err := d.ReopenBreaker(ctx, w.ID, "probe", end.Add(2*time.Second), 2*time.Second); err != nil || !ok {
			t.Fatalf("reopen: %v %v", ok, err)
		}
	}
	// Nothing of a was due: its newest held delivery is, for the next probe.
	got, err := d.DueDeliveries(ctx, end.Add(2*time.Second), 10, nil)
	if err != nil || !same(ids(got), []string{held[2]}) {
		t.Fatalf("due at the new pause's end: %v %v, want a's newest held %s", ids(got), err, held[2])
	}
	for _, id := range held[:2] {
		if x, err := db.GetDelivery(ctx, id); err != nil || x.HeldAt == nil || x.NextAttemptAt != nil {
			t.Errorf("%s moved by the reopen: %+v %v", id, x, err)
		}
	}
	// Resumed while its breaker is open, the paused webhook's deliveries stay held, but
	// once the pause is over one is due, for the probe.
	if err := db.ResumeWebhook(ctx, paused.ID); err != nil {
		t.Fatal(err)
	}
	later := end.Add(2 * time.Second)
	if n, err := d.ReleaseHeld(ctx, later); err != nil || n != 0 {
		t.Errorf("released while the breaker is open: %d %v", n, err)
	}
	got, err = d.DueDeliveries(ctx, later, 10, nil)
	if err != nil || !same(ids(got), []string{held[2], heldPaused[2]}) && !same(ids(got), []string{heldPaused[2], held[2]}) {
		t.Fatalf("due once the pauses are over: %v %v, want the newest held of each, %s and %s", ids(got), err, held[2], heldPaused[2])
	}
	for _, w := range []*store.Webhook{a, paused} {
		if ok, err := d.CloseBreaker(ctx, w.ID, later); err != nil || !ok {
			t.Fatalf("close: %v %v", ok, err)
		}
	}
	got, err = d.DueDeliveries(ctx, later, 10, nil)
	if err != nil || len(got) != 6 {
		t.Fatalf("due after the close: %v %v, want all six", ids(got), err)
	}
	for _, x := range got {
		if x.HeldAt != nil {
			t.Errorf("due after the close: %+v", x)
		}
	}
}
