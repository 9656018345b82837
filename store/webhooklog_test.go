package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// webhookLog records, for each of ws in turn, one delivery with one attempt a second
// apart from start, then retries the first delivery of ws[0] last: the log of ws[0]
// is, newest first, that retry and then its attempts from the newest.
func webhookLog(t *testing.T, db *store.DB, start time.Time, per int, ws ...*store.Webhook) {
	t.Helper()
	ctx := context.Background()
	at := start
	var first *store.Delivery
	for i := range per {
		for _, w := range ws {
			id := fmt.Sprintf("%s-%d", w.ExternalID, i)
			d := store.Delivery{ID: "msg_" + id, EventID: id, WebhookID: w.ID, Dialect: w.Dialect, EventName: "all",
				Status: store.DeliveryPending, CreatedAt: at, UpdatedAt: at}
			ev := &store.Event{ID: id, Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at, Deliveries: 1}
			if err := storetest.CreateEvent(ctx, db, ev, []store.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			d.Status, d.Attempts, d.LastStatus = store.DeliveryFailed, 1, 500
			if err := storetest.RecordAttempt(ctx, db, &store.Attempt{ID: "att_" + id, DeliveryID: d.ID, Number: 1, URL: w.URL,
				StartedAt: at, ResponseStatus: 500}, &d); err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = &d
			}
			at = at.Add(time.Second)
		}
	}
	first.Status, first.Attempts, first.LastStatus = store.DeliverySucceeded, 2, 200
	if err := storetest.RecordAttempt(ctx, db, &store.Attempt{ID: "att_retry", DeliveryID: first.ID, Number: 2, URL: ws[0].URL,
		StartedAt: at, ResponseStatus: 200}, first); err != nil {
		t.Fatal(err)
	}
}

// A webhook's log (Authing's get-webhook-logs) lists its own attempts alone, newest first
// by when they started (a retry of its oldest delivery first), in pages, and counts them
// up to the cap; on SQLite through the attempts' index on their webhook, in its order.
func TestAttemptsOfWebhook_NewestFirst(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		db.LogAttemptsByWebhook("authing")
		var ws []*store.Webhook
		for _, ext := range []string{"mine", "other", "unlisted"} {
			w := &store.Webhook{Dialect: "authing", ExternalID: ext, URL: "https://example.com/" + ext, Events: []string{"all"}, Enabled: true}
			if ext == "unlisted" {
				w.Dialect = "nursa" // a dialect that lists no webhook's log
			}
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			ws = append(ws, w)
		}
		webhookLog(t, db, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), 4, ws...)
		// The attempts of a dialect that lists no webhook's log keep no digest, and stay
		// out of the log's index.
		if page, total, err := db.AttemptsOfWebhook(ctx, ws[2].ID, 0, 10); err != nil || len(page) != 0 || total != 0 {
			t.Errorf("the log of a webhook whose dialect lists none: %d attempts, total %d (%v)", len(page), total, err)
		}
		for _, a := range attemptsOf(t, db, "msg_unlisted-0", "msg_mine-0") {
			if listed := a.WebhookDigest != 0; listed != (a.DeliveryID == "msg_mine-0") {
				t.Errorf("%s: webhook digest %d", a.ID, a.WebhookDigest)
			}
		}

		want := []string{"att_retry", "att_mine-3", "att_mine-2", "att_mine-1", "att_mine-0"}
		var got []string
		for offset := 0; offset < 6; offset += 2 {
			page, total, err := db.AttemptsOfWebhook(ctx, ws[0].ID, offset, 2)
			if err != nil || total != 5 {
				t.Fatalf("page at %d: total %d (%v), want 5", offset, total, err)
			}
			for _, a := range page {
				if a.EventID == "" || a.EventName != "all" || a.WebhookDigest != store.WebhookDigest(ws[0].ID) {
					t.Errorf("%s: event %q %q, webhook digest %d", a.ID, a.EventID, a.EventName, a.WebhookDigest)
				}
				got = append(got, a.ID)
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("the log in pages of 2: %v, want %v", got, want)
		}
		if page, total, err := db.AttemptsOfWebhook(ctx, ws[0].ID, 1<<30, 10); err != nil || len(page) != 0 || total != 5 {
			t.Errorf("a page far past the end: %d attempts, total %d (%v)", len(page), total, err)
		}
		// An attempt of another webhook whose id had the same digest is not in the page
		// (its delivery says whose it is); the count, which reads the index alone, has it.
		q := "UPDATE attempts SET webhook_digest = ? WHERE id = 'att_other-3'"
		if db.Backend() == store.BackendPostgres {
			q = "UPDATE attempts SET webhook_digest = $1 WHERE id = 'att_other-3'"
		}
		if _, err := db.SQL().ExecContext(ctx, q, store.WebhookDigest(ws[0].ID)); err != nil {
			t.Fatal(err)
		}
		if page, total, err := db.AttemptsOfWebhook(ctx, ws[0].ID, 0, 10); err != nil || len(page) != 5 || total != 6 {
			t.Errorf("with another's attempt under its digest: %d attempts, total %d (%v); want 5 and 6", len(page), total, err)
		}
		db.CountCap = 3
		if page, total, err := db.AttemptsOfWebhook(ctx, ws[0].ID, 0, 10); err != nil || len(page) != 5 || total != 4 {
			t.Errorf("cap 3: %d attempts, total %d (%v); want 5 and 4 (more than the cap)", len(page), total, err)
		}
		// The log lists as many as it says it has: no page reads past the cap.
		if page, total, err := db.AttemptsOfWebhook(ctx, ws[0].ID, 4, 10); err != nil || len(page) != 0 || total != 4 {
			t.Errorf("cap 3, a page at 4: %d attempts, total %d (%v); want none and 4", len(page), total, err)
		}
		if db.Backend() == store.BackendSQLite {
			plan := queryPlan(t, db, `SELECT attempts.* FROM attempts LEFT JOIN deliveries ON deliveries.id = attempts.delivery_id
WHERE attempts.webhook_digest = ? AND attempts.webhook_digest <> 0 ORDER BY attempts.started_at DESC, attempts.id DESC LIMIT 10`,
				store.WebhookDigest(ws[0].ID))
			if !strings.Contains(plan, "idx_attempt_webhook_log") || strings.Contains(plan, "TEMP B-TREE FOR ORDER BY") {
				t.Errorf("a page of the log does not read the webhook's index in order: %s", plan)
			}
		}
	})
}

// A settle that gives its deliveries' webhook but not their dialect (only their new
// state) still puts their attempts in the webhook's log: the dialect is read from the
// deliveries.
func TestAttemptsOfWebhook_SettledWithoutTheDialect(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		db.LogAttemptsByWebhook("authing")
		w := &store.Webhook{Dialect: "authing", ExternalID: "w", URL: "https://example.com/w", Events: []string{"all"}, Enabled: true}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		until := at.Add(time.Hour)
		ev := &store.Event{ID: "e1", Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at, Deliveries: 1}
		d := store.Delivery{ID: "msg_1", EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "all",
			Status: store.DeliveryPending, CreatedAt: at, UpdatedAt: at, ClaimedUntil: &until, ClaimedBy: "r1"}
		if err := db.CreateEvents(ctx, []*store.Event{ev}, []store.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		settled := &store.Delivery{ID: d.ID, WebhookID: w.ID, Status: store.DeliverySucceeded, Attempts: 1, LastStatus: 200, ClaimedBy: "r1"}
		a := &store.Attempt{ID: "att_1", DeliveryID: d.ID, Number: 1, URL: w.URL, StartedAt: at, ResponseStatus: 200}
		if _, err := db.Settle(ctx, []*store.Delivery{settled}, []*store.Attempt{a}); err != nil {
			t.Fatal(err)
		}
		if page, total, err := db.AttemptsOfWebhook(ctx, w.ID, 0, 10); err != nil || total != 1 || len(page) != 1 || page[0].ID != a.ID {
			t.Fatalf("the webhook's log: %d attempts, total %d (%v); want att_1", len(page), total, err)
		}
	})
}

// The attempts an older version recorded, without their webhook, are given it at the
// next start, and are in their webhook's log.
func TestOpen_AttemptsOfAnOlderVersionGetTheirWebhook(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := b.DSN(t)
			db := storetest.OpenDSN(t, dsn)
			db.LogAttemptsByWebhook("authing")
			w := &store.Webhook{Dialect: "authing", ExternalID: "old", URL: "https://example.com/old", Events: []string{"all"}, Enabled: true}
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			webhookLog(t, db, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), 2, w)
			// What an older version left: no webhook column, nor its index, nor the mark.
			for _, q := range []string{"DROP INDEX idx_attempt_webhook_log", "ALTER TABLE attempts DROP COLUMN webhook_digest",
				"DELETE FROM settings WHERE key = 'attempt_webhooks'"} {
				if _, err := db.SQL().ExecContext(ctx, q); err != nil {
					t.Fatal(q, err)
				}
			}
			db.Close()

			db = storetest.OpenDSN(t, dsn)
			page, total, err := db.AttemptsOfWebhook(ctx, w.ID, 0, 10)
			if err != nil || total != 3 || len(page) != 3 || page[0].ID != "att_retry" {
				t.Fatalf("the log after the upgrade: %d attempts, total %d (%v)", len(page), total, err)
			}
		})
	}
}

// attemptsOf returns the attempts of the deliveries ids, as stored.
func attemptsOf(t *testing.T, db *store.DB, ids ...string) []store.Attempt {
	t.Helper()
	of, err := db.AttemptsOf(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Attempt
	for _, id := range ids {
		if len(of[id]) == 0 {
			t.Fatalf("no attempt of %s", id)
		}
		out = append(out, of[id]...)
	}
	return out
}
