package store_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A claim is settled only by the replica that holds it; a due delivery is claimed by
// one replica only; a silent replica's claims are released once.
func TestClaims_OwnedByTheirReplica(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(time.Hour)
		mk := func(id string, by string) store.Delivery {
			d := store.Delivery{ID: id, EventID: "evt_own", WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create", Status: store.DeliveryPending}
			if by != "" {
				d.ClaimedUntil, d.ClaimedBy = &until, by
			}
			return d
		}
		if err := storetest.CreateEvent(ctx, db, &store.Event{ID: "evt_own", Type: "user.created", OccurredAt: time.Now()},
			[]store.Delivery{mk("msg_a", "rep_a"), mk("msg_q", "")}); err != nil {
			t.Fatal(err)
		}
		// Only rep_a settles msg_a.
		held, err := db.Settle(ctx, []*store.Delivery{{ID: "msg_a", Status: store.DeliverySucceeded, ClaimedBy: "rep_b"}}, []*store.Attempt{nil})
		if err != nil || held[0] {
			t.Fatalf("another replica settled the claim: %v %v", held, err)
		}
		// The due one is claimed once.
		if n, err := db.ScheduleUnscheduled(ctx, time.Now().Add(-time.Second)); n != 1 || err != nil {
			t.Fatalf("schedule the unscheduled: %d %v", n, err)
		}
		due, err := db.DueDeliveries(ctx, time.Now(), 10, nil)
		if err != nil || len(due) != 1 || due[0].ID != "msg_q" {
			t.Fatalf("due: %+v %v", due, err)
		}
		if got, err := db.ClaimDue(ctx, due, nil, "rep_b", until); err != nil || len(got) != 1 || got[0].ClaimedBy != "rep_b" {
			t.Fatalf("claim due: %+v %v", got, err)
		}
		if got, err := db.ClaimDue(ctx, due, nil, "rep_c", until); err != nil || len(got) != 0 {
			t.Fatalf("claimed twice: %+v %v", got, err)
		}
		// rep_a goes silent; rep_b notices, and takes its claims once.
		old := time.Now().Add(-time.Minute)
		if err := db.Heartbeat(ctx, "rep_a", old); err != nil {
			t.Fatal(err)
		}
		if err := db.Heartbeat(ctx, "rep_b", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := db.Heartbeat(ctx, "rep_b", time.Now()); err != nil { // again: an update
			t.Fatal(err)
		}
		silent, err := db.SilentReplicas(ctx, "rep_b", time.Now().Add(-5*time.Second))
		if err != nil || len(silent) != 1 || silent[0] != "rep_a" {
			t.Fatalf("silent replicas: %v %v", silent, err)
		}
		at := time.Now().Add(-time.Millisecond)
		if n, err := db.ReleaseClaimsOf(ctx, "rep_a", at); n != 1 || err != nil {
			t.Fatalf("release the claims of rep_a: %d %v", n, err)
		}
		if n, err := db.ReleaseClaimsOf(ctx, "rep_a", at); n != 0 || err != nil {
			t.Fatalf("released twice: %d %v", n, err)
		}
		if due, err := db.DueDeliveries(ctx, time.Now(), 10, nil); err != nil || len(due) != 1 || due[0].ID != "msg_a" {
			t.Fatalf("rep_a's claim is not due: %+v %v", due, err)
		}
		if err := db.ForgetReplica(ctx, "rep_a"); err != nil {
			t.Fatal(err)
		}
		if silent, _ := db.SilentReplicas(ctx, "rep_b", time.Now()); len(silent) != 0 {
			t.Errorf("forgotten replica still listed: %v", silent)
		}
	})
}

// A replica claims a delivery it read as due only as it read it: one read before another
// replica claimed, attempted and rescheduled it is stale, and claiming from it sent the
// attempt again, early, under the old attempt's number. So is a lane's successor kept in
// memory from before its attempt; and such a read postpones nothing.
func TestClaims_StaleDueReadClaimsNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-time.Minute)
		until := time.Now().Add(time.Hour)
		for i, next := range []time.Time{
			time.Now().Add(time.Hour), // the retry's backoff
			at.Add(-time.Second),      // due at once, by a clock behind the others'
		} {
			id := fmt.Sprintf("msg_stale%d", i)
			ev := &store.Event{ID: fmt.Sprintf("evt_stale%d", i), Type: "user.created", OccurredAt: at}
			if err := storetest.CreateEvent(ctx, db, ev, []store.Delivery{{ID: id, EventID: ev.ID, WebhookID: w.ID,
				Dialect: w.Dialect, EventName: "user.create", Status: store.DeliveryPending, NextAttemptAt: &at}}); err != nil {
				t.Fatal(err)
			}
			read := func() []store.Delivery {
				t.Helper()
				due, err := db.DueDeliveries(ctx, time.Now(), 10, nil)
				if err != nil || len(due) != 1 || due[0].ID != id {
					t.Fatalf("due: %+v %v, want %s", due, err, id)
				}
				return due
			}
			stale := read()
			// rep_b claims it, attempts it and reschedules it.
			got, err := db.ClaimDue(ctx, read(), nil, "rep_b", until)
			if err != nil || len(got) != 1 {
				t.Fatalf("rep_b's claim: %+v %v", got, err)
			}
			d := got[0]
			d.Attempts++
			d.LastStatus, d.LastError, d.NextAttemptAt = 503, "Service Unavailable", &next
			a := &store.Attempt{ID: "att_" + id, DeliveryID: id, Number: d.Attempts, URL: w.URL, StartedAt: time.Now(), ResponseStatus: 503}
			if held, err := db.Settle(ctx, []*store.Delivery{&d}, []*store.Attempt{a}); err != nil || !held[0] {
				t.Fatalf("rep_b's settle: %v %v", held, err)
			}
			if got, err := db.ClaimDue(ctx, stale, nil, "rep_a", until); err != nil || len(got) != 0 {
				t.Errorf("rescheduled at %s, claimed from a read before its attempt: %+v %v", next.Format(time.RFC3339), got, err)
			}
			// Nor as a lane's successor kept from before its attempt (an operator's retry of
			// an earlier delivery in its lane can make it one again).
			if _, got, err := db.SettleAndClaim(ctx, nil, nil, stale, "rep_a", until); err != nil || len(got) != 0 {
				t.Errorf("rescheduled at %s, claimed as a successor kept from before its attempt: %+v %v", next.Format(time.RFC3339), got, err)
			}
			// Nor postponed from it (a breaker's pause the stale look saw).
			postponed, later := stale[0], time.Now().Add(3*time.Hour)
			postponed.NextAttemptAt = &later
			if _, err := db.ClaimDue(ctx, nil, []store.Delivery{postponed}, "rep_a", until); err != nil {
				t.Fatal(err)
			}
			if ds, err := db.DeliveriesOfEvent(ctx, ev.ID); err != nil || len(ds) != 1 || ds[0].NextAttemptAt == nil ||
				ds[0].NextAttemptAt.Sub(next).Abs() > time.Second {
				t.Errorf("rescheduled at %s, postponed from a read before its attempt: %+v %v", next.Format(time.RFC3339), ds, err)
			}
			if next.Before(time.Now()) {
				got, err := db.ClaimDue(ctx, read(), nil, "rep_a", until)
				if err != nil || len(got) != 1 || got[0].Attempts != 1 {
					t.Errorf("a fresh read's claim: %+v %v, want %s after 1 attempt", got, err, id)
				}
			}
		}
	})
}

// A settlement computed from a stale copy of its delivery (its attempts counted from a
// read before another attempt was recorded) writes nothing over the newer state: the
// delivery keeps its count and its holder's claim, for the settlement of the attempt
// under way.
func TestSettle_FromAStaleCopyWritesNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(time.Hour)
		if err := storetest.CreateEvent(ctx, db, &store.Event{ID: "evt_copy", Type: "user.created", OccurredAt: time.Now()},
			[]store.Delivery{{ID: "msg_copy", EventID: "evt_copy", WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create",
				Status: store.DeliveryPending, ClaimedUntil: &until, ClaimedBy: "rep_a"}}); err != nil {
			t.Fatal(err)
		}
		attempt := func(n int) (*store.Delivery, *store.Attempt) {
			past := time.Now().Add(-time.Second)
			return &store.Delivery{ID: "msg_copy", Status: store.DeliveryPending, Attempts: n, LastStatus: 503, NextAttemptAt: &past, ClaimedBy: "rep_a"},
				&store.Attempt{ID: fmt.Sprintf("att_copy%d_%d", n, time.Now().UnixNano()), DeliveryID: "msg_copy", Number: n, URL: w.URL,
					StartedAt: time.Now(), ResponseStatus: 503}
		}
		settle := func(n int) bool {
			t.Helper()
			d, a := attempt(n)
			held, err := db.Settle(ctx, []*store.Delivery{d}, []*store.Attempt{a})
			if err != nil {
				t.Fatal(err)
			}
			return held[0]
		}
		if !settle(1) {
			t.Fatal("attempt 1 not recorded")
		}
		due, err := db.DueDeliveries(ctx, time.Now(), 10, nil)
		if err != nil || len(due) != 1 {
			t.Fatalf("due: %+v %v", due, err)
		}
		if got, err := db.ClaimDue(ctx, due, nil, "rep_a", until); err != nil || len(got) != 1 {
			t.Fatalf("claimed again: %+v %v", got, err)
		}
		if settle(1) { // counted from the copy before attempt 1
			t.Error("a settlement counted from a stale copy was written")
		}
		if d, err := db.GetDelivery(ctx, "msg_copy"); err != nil || d.Attempts != 1 || d.ClaimedUntil == nil {
			t.Fatalf("after the stale settlement: %+v %v, want 1 attempt and the claim kept", d, err)
		}
		if !settle(2) {
			t.Error("attempt 2, counted from the delivery as claimed, not recorded")
		}
	})
}

// A held delivery waits for its webhook: it is released once the webhook delivers again,
// once only, and cancelled if the webhook is deleted.
func TestClaims_HeldUntilEnabled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, gone := fullWebhook(), fullWebhook()
		gone.ExternalID = "5d0c2a8e-1b7f-4c39-8e0a-3f6b9d2c7e44"
		for _, x := range []*store.Webhook{w, gone} {
			if err := db.CreateWebhook(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		held := func(id, webhook string) store.Delivery {
			return store.Delivery{ID: id, EventID: "evt_held", WebhookID: webhook, Dialect: w.Dialect, EventName: "user.create", Status: store.DeliveryPending, HeldAt: &now}
		}
		if err := storetest.CreateEvent(ctx, db, &store.Event{ID: "evt_held", Type: "user.created", OccurredAt: now},
			[]store.Delivery{held("msg_w", w.ID), held("msg_gone", gone.ID)}); err != nil {
			t.Fatal(err)
		}
		if err := db.DisableWebhook(ctx, w.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteWebhook(ctx, store.WebhookKey{Dialect: gone.Dialect, Owner: gone.Owner, ExternalID: gone.ExternalID}); err != nil {
			t.Fatal(err)
		}
		if n, err := db.ReleaseHeld(ctx, now); err != nil || n != 0 {
			t.Fatalf("released while disabled: %d %v", n, err)
		}
		if d, _ := db.GetDelivery(ctx, "msg_gone"); d.Status != store.DeliveryCancelled || d.HeldAt != nil {
			t.Errorf("held delivery of a deleted webhook: %+v", d)
		}
		if due, err := db.DueDeliveries(ctx, now.Add(time.Hour), 10, nil); len(due) != 0 || err != nil {
			t.Fatalf("a held delivery is due: %+v %v", due, err)
		}
		if err := db.EnableWebhook(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := db.ReleaseHeld(ctx, now); err != nil || n != 1 {
			t.Fatalf("release held: %d %v", n, err)
		}
		if n, _ := db.ReleaseHeld(ctx, now); n != 0 {
			t.Error("released twice")
		}
		if due, err := db.DueDeliveries(ctx, now.Add(time.Millisecond), 10, nil); err != nil || len(due) != 1 || due[0].ID != "msg_w" {
			t.Fatalf("the released delivery is not due: %+v %v", due, err)
		}
	})
}

// The webhooks holding deliveries are found one index entry each, in pages that neither
// skip nor repeat one, and a paused webhook's backlog is left where it is while the
// others' are released.
func TestClaims_HeldFoundByWebhook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		var ids []string
		var ds []store.Delivery
		for i := range 7 {
			w := fullWebhook()
			w.ExternalID = fmt.Sprintf("5d0c2a8e-1b7f-4c39-8e0a-3f6b9d2c7e%02d", i)
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			held := 1
			switch i {
			case 0: // paused, with a backlog
				if err := db.PauseWebhook(ctx, w.ID, now); err != nil {
					t.Fatal(err)
				}
				held = 50
			case 5, 6: // holding nothing
				continue
			}
			ids = append(ids, w.ID)
			for j := range held {
				ds = append(ds, store.Delivery{ID: fmt.Sprintf("msg_%d_%d", i, j), EventID: "evt_held_many", WebhookID: w.ID,
					Dialect: w.Dialect, EventName: "user.create", Status: store.DeliveryPending, HeldAt: &now})
			}
		}
		if err := storetest.CreateEvent(ctx, db, &store.Event{ID: "evt_held_many", Type: "user.created", OccurredAt: now}, ds); err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		var found []string
		for after := ""; ; {
			page, err := store.HeldWebhooks(ctx, db, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			found = append(found, page...)
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1]
		}
		if !slices.Equal(found, ids) {
			t.Fatalf("webhooks holding deliveries, by pages of 2: %v, want %v", found, ids)
		}
		if n, err := db.ReleaseHeld(ctx, now); err != nil || n != 4 {
			t.Fatalf("released %d (%v), want the 4 of the webhooks that deliver", n, err)
		}
		if page, err := store.HeldWebhooks(ctx, db, "", 10); err != nil || len(page) != 1 {
			t.Fatalf("still holding: %v %v, want the paused webhook only", page, err)
		}
	})
}

// An attempt's read of its webhook's state tells whether an earlier copy is still the
// webhook's content, and carries the state that changes without a new version.
func TestWebhookState_TellsAStaleCopy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		read, err := db.WebhookByID(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		st, err := db.WebhookStateByID(ctx, w.ID)
		if err != nil || !st.Same(read) || !st.Enabled || st.DisabledAt != nil {
			t.Fatalf("state of a new webhook: %+v %v", st, err)
		}
		if err := db.DisableWebhook(ctx, w.ID, "operator"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetFailingSince(ctx, w.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		st, _ = db.WebhookStateByID(ctx, w.ID)
		if !st.Same(read) || st.DisabledAt == nil || st.DisabledReason != "operator" || st.FailingSince == nil {
			t.Fatalf("state after disabling: %+v", st)
		}
		if got := st.Apply(read); got.DisabledAt == nil || read.DisabledAt != nil {
			t.Errorf("apply: %+v (copy of %+v)", got, read)
		}
		key := store.WebhookKey{Dialect: w.Dialect, Owner: w.Owner, ExternalID: w.ExternalID}
		if _, err := db.UpdateWebhook(ctx, key, func(w *store.Webhook) error { w.URL = "https://example.com/moved"; return nil }); err != nil {
			t.Fatal(err)
		}
		if st, _ = db.WebhookStateByID(ctx, w.ID); st.Same(read) {
			t.Error("a copy from before an update is taken for the current content")
		}
		if err := db.DeleteWebhook(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := db.WebhookStateByID(ctx, w.ID); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("state of a deleted webhook: %v", err)
		}
	})
}

// On PostgreSQL the release of run-out claims does not wait for a row another
// transaction holds (a settle in flight): it releases the others at once, and that one
// at the next sweep. Waiting, the sweep and a settle batch locking rows in other orders
// deadlocked.
func TestClaims_ReleaseSkipsRowsHeldElsewhere(t *testing.T) {
	t.Parallel()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set: a PostgreSQL behaviour")
	}
	ctx := context.Background()
	db := storetest.OpenDSN(t, storetest.PostgresDSN(t))
	w := fullWebhook()
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	gone := time.Now().Add(-time.Minute).UTC()
	var ds []store.Delivery
	for _, id := range []string{"msg_1", "msg_2", "msg_3"} {
		ds = append(ds, store.Delivery{ID: id, EventID: "evt_r", WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create",
			Status: store.DeliveryPending, ClaimedUntil: &gone, ClaimedBy: "rep_gone"})
	}
	if err := storetest.CreateEvent(ctx, db, &store.Event{ID: "evt_r", Type: "user.created", OccurredAt: gone}, ds); err != nil {
		t.Fatal(err)
	}
	for _, release := range []struct {
		name string
		do   func(context.Context) (int64, error)
	}{
		{"expired", func(ctx context.Context) (int64, error) { return db.ReleaseExpired(ctx, time.Now(), time.Now()) }},
		{"of a replica", func(ctx context.Context) (int64, error) { return db.ReleaseClaimsOf(ctx, "rep_gone", time.Now()) }},
	} {
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "SELECT id FROM deliveries WHERE id = 'msg_2' FOR UPDATE"); err != nil {
			t.Fatal(err)
		}
		within, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := release.do(within)
		cancel()
		if err != nil || n != 2 {
			t.Errorf("release %s beside a held row: %d %v, want the 2 others at once", release.name, n, err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if n, err := release.do(ctx); err != nil || n != 1 {
			t.Errorf("release %s once the row is free: %d %v, want 1", release.name, n, err)
		}
		// Claimed again, for the next case.
		if _, err := db.SQL().ExecContext(ctx, "UPDATE deliveries SET claimed_until = $1, claimed_by = 'rep_gone' WHERE event_id = 'evt_r'", gone); err != nil {
			t.Fatal(err)
		}
	}
}
