package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A webhook's stats are counted as its attempts are recorded: per webhook, by whole
// minutes of the window, percentiles to a bucket's bound (exact where a duration is a
// bound, or the longest); they stay when the attempts are pruned, an older version's
// attempts are counted once when the table is new, and minutes past a day and an hour
// are forgotten.
func TestWebhookAttempts(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			db := storetest.OpenDSN(t, dsn)
			var ws [2]*store.Webhook
			for i := range ws {
				ws[i] = &store.Webhook{Dialect: "nursa", ExternalID: fmt.Sprint("h", i), URL: "https://h.example.com", Enabled: true}
				if err := db.CreateWebhook(ctx, ws[i]); err != nil {
					t.Fatal(err)
				}
			}
			now := time.Now().UTC().Truncate(time.Minute).Add(30 * time.Second)
			n := 0
			record := func(w *store.Webhook, at time.Time, durationMS int64, status int, giveWebhook bool) {
				t.Helper()
				n++
				ev := &store.Event{ID: fmt.Sprint("ev-", n), Type: "user.created", OccurredAt: at, CreatedAt: at}
				d := store.Delivery{ID: fmt.Sprint("d-", n), EventID: ev.ID, WebhookID: w.ID, Dialect: "nursa", EventName: "all", Status: store.DeliveryPending}
				if err := storetest.CreateEvent(ctx, db, ev, []store.Delivery{d}); err != nil {
					t.Fatal(err)
				}
				settled := &store.Delivery{ID: d.ID, Status: store.DeliverySucceeded, Attempts: 1, LastStatus: status}
				if giveWebhook {
					settled.WebhookID = w.ID
				}
				a := &store.Attempt{ID: fmt.Sprint("a-", n), DeliveryID: d.ID, Number: 1, URL: w.URL, StartedAt: at, DurationMS: durationMS, ResponseStatus: status}
				if err := storetest.RecordAttempt(ctx, db, a, settled); err != nil {
					t.Fatal(err)
				}
			}
			// In the hour: 100 attempts of 0..99 ms, every tenth a 500, half of them
			// settled without their webhook (found from the delivery); two more three
			// hours ago; one to the other webhook.
			for i := range 100 {
				status := 200
				if i%10 == 0 {
					status = 500
				}
				record(ws[0], now.Add(-time.Duration(i%30)*time.Minute), int64(i), status, i%2 == 0)
			}
			record(ws[0], now.Add(-3*time.Hour), 900, 200, true)
			record(ws[0], now.Add(-3*time.Hour), 70_000, 200, true)
			record(ws[1], now, 5, 200, true)

			type want struct{ attempts, succeeded, p50, p95 int64 }
			check := func(when string, since time.Duration, w want) {
				t.Helper()
				got, err := db.WebhookAttempts(ctx, ws[0].ID, now.Add(-since))
				if err != nil {
					t.Fatal(err)
				}
				if g := (want{got.Attempts, got.Succeeded, got.P50, got.P95}); g != w {
					t.Errorf("%s, since %s: %+v, want %+v", when, since, g, w)
				}
			}
			// The median of 0..99 is 49, in the bucket up to 50; the 95th, 94, in the
			// one up to 100, capped at the longest, 99. Over the day the median of 102
			// is the 51st, 50, and the 95th the 97th, 96: 100.
			hour, day := want{100, 90, 50, 99}, want{102, 92, 50, 100}
			check("recorded", time.Hour, hour)
			check("recorded", 24*time.Hour, day)
			if got, err := db.WebhookAttempts(ctx, ws[1].ID, now.Add(-time.Hour)); err != nil || got.Attempts != 1 || got.P50 != 5 || got.P95 != 5 {
				t.Errorf("the other webhook: %+v %v", got, err)
			}
			if got, err := db.WebhookAttempts(ctx, "none", now.Add(-time.Hour)); err != nil || got != (store.AttemptWindow{Since: now.Add(-time.Hour)}) {
				t.Errorf("a webhook without attempts: %+v %v", got, err)
			}

			if _, err := db.SQL().ExecContext(ctx, "DELETE FROM attempts"); err != nil {
				t.Fatal(err)
			}
			check("the attempts deleted", time.Hour, hour)

			// An older version's attempts: counted once, when the table is made.
			for i := range 3 {
				record(ws[0], now.Add(-time.Duration(i)*time.Hour), 2000, 200, true)
			}
			if _, err := db.SQL().ExecContext(ctx, "DROP TABLE webhook_minutes"); err != nil {
				t.Fatal(err)
			}
			db.Close()
			db = storetest.OpenDSN(t, dsn)
			check("counted from the attempts at a start", time.Hour, want{2, 2, 2000, 2000})
			check("counted from the attempts at a start", 24*time.Hour, want{3, 3, 2000, 2000})
			db.Close()
			db = storetest.OpenDSN(t, dsn)
			check("a second start", 24*time.Hour, want{3, 3, 2000, 2000})

			if err := db.PruneActivity(ctx, now.Add(22*time.Hour)); err != nil {
				t.Fatal(err)
			}
			check("pruned before the minutes' end of keeping", 24*time.Hour, want{3, 3, 2000, 2000})
			if err := db.PruneActivity(ctx, now.Add(23*time.Hour+30*time.Minute)); err != nil {
				t.Fatal(err)
			}
			check("pruned", 24*time.Hour, want{2, 2, 2000, 2000})
		})
	}
}

// BenchmarkWebhookAttempts_History is a webhook's stats (the hour and the day, as the
// API asks) for a webhook with 20,000 attempts two days old and 600 in the hour. (Counted
// from the attempts, it read every one the webhook ever had.)
func BenchmarkWebhookAttempts_History(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		now := attemptHistory(b, db, w)
		b.ResetTimer()
		for b.Loop() {
			for _, since := range []time.Duration{time.Hour, 24 * time.Hour} {
				if _, err := db.WebhookAttempts(ctx, w.ID, now.Add(-since)); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// attemptHistory gives w 20,000 attempts two days old and 600 in the last half hour, each
// its delivery's one, and returns the time it counted from. On PostgreSQL it gathers the
// tables' statistics, as autovacuum would: without, the prepared statement's generic plan
// (PostgreSQL's after five runs) took the log page 0.6-0.9 s before it had its index.
func attemptHistory(b *testing.B, db *store.DB, w *store.Webhook) time.Time {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	until := now.Add(time.Hour)
	for _, part := range []struct {
		n  int
		at time.Time
	}{{20000, now.Add(-48 * time.Hour)}, {600, now.Add(-30 * time.Minute)}} {
		for i := 0; i < part.n; i += 500 {
			var evs []*store.Event
			var ds []store.Delivery
			var settled []*store.Delivery
			var as []*store.Attempt
			for j := range min(500, part.n-i) {
				id := fmt.Sprintf("%d-%d", part.n, i+j)
				// A millisecond apart, as events published one after another are.
				at := part.at.Add(time.Duration(i+j) * time.Millisecond)
				evs = append(evs, &store.Event{ID: id, Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at, Deliveries: 1})
				ds = append(ds, store.Delivery{ID: "msg_" + id, EventID: id, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create",
					Status: store.DeliveryPending, CreatedAt: at, UpdatedAt: at, ClaimedUntil: &until, ClaimedBy: "bench"})
				settled = append(settled, &store.Delivery{ID: "msg_" + id, WebhookID: w.ID, Status: store.DeliverySucceeded, Attempts: 1,
					LastStatus: 200, ClaimedBy: "bench"})
				as = append(as, &store.Attempt{ID: "att_" + id, DeliveryID: "msg_" + id, Number: 1, URL: w.URL, StartedAt: at,
					DurationMS: int64(j % 200), ResponseStatus: 200})
			}
			if err := db.CreateEvents(ctx, evs, ds); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Settle(ctx, settled, as); err != nil {
				b.Fatal(err)
			}
		}
	}
	if db.Backend() == store.BackendPostgres {
		if _, err := db.SQL().ExecContext(ctx, "ANALYZE events, deliveries, attempts"); err != nil {
			b.Fatal(err)
		}
	}
	return now
}

// BenchmarkAttemptsOfWebhook_History is the first page of a webhook's log as Authing's
// API asks for it (ten attempts, newest first, and how many there are, up to the cap),
// the webhook with 20,600 attempts kept. Found through the deliveries, both read every
// attempt the webhook had: 57-63 ms on SQLite, 32-39 ms on PostgreSQL. By the attempts'
// own index on their webhook the page reads its ten and the count stops at the cap.
func BenchmarkAttemptsOfWebhook_History(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		db.LogAttemptsByWebhook(w.Dialect)
		attemptHistory(b, db, w)
		b.ResetTimer()
		for b.Loop() {
			if as, total, err := db.AttemptsOfWebhook(ctx, w.ID, 0, 10); err != nil || len(as) != 10 || total != db.CountCap+1 {
				b.Fatal(err, len(as), total)
			}
		}
	})
}

// A webhook's minute is one row on SQLite, and on PostgreSQL one per replica that settled
// its attempts in it: not one per settle's draw of the activity's eight.
func TestWebhookAttempts_ARowPerReplica(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.OpenDSN(t, b.DSN(t))
			w := &store.Webhook{Dialect: "nursa", ExternalID: "h", URL: "https://h.example.com", Enabled: true}
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Minute).Add(30 * time.Second)
			until := now.Add(time.Hour)
			for i := range 20 {
				holder := []string{"rep_a", "rep_b"}[i%2]
				id := fmt.Sprint("ev-", i)
				ev := &store.Event{ID: id, Type: "user.created", Data: []byte(`{}`), OccurredAt: now, CreatedAt: now, Deliveries: 1}
				d := store.Delivery{ID: "msg_" + id, EventID: id, WebhookID: w.ID, Dialect: w.Dialect, EventName: "all",
					Status: store.DeliveryPending, CreatedAt: now, UpdatedAt: now, ClaimedUntil: &until, ClaimedBy: holder}
				if err := db.CreateEvents(ctx, []*store.Event{ev}, []store.Delivery{d}); err != nil {
					t.Fatal(err)
				}
				settled := &store.Delivery{ID: d.ID, WebhookID: w.ID, Status: store.DeliverySucceeded, Attempts: 1, LastStatus: 200, ClaimedBy: holder}
				a := &store.Attempt{ID: "att_" + id, DeliveryID: d.ID, Number: 1, URL: w.URL, StartedAt: now, DurationMS: 3, ResponseStatus: 200}
				if held, err := db.Settle(ctx, []*store.Delivery{settled}, []*store.Attempt{a}); err != nil || !held[0] {
					t.Fatal(held, err)
				}
			}
			var rows int
			if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM webhook_minutes").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if want := map[string]int{"sqlite": 1, "postgres": 2}[b.Name]; rows > want {
				t.Errorf("20 settles by two replicas in one minute made %d rows, want at most %d", rows, want)
			}
			if got, err := db.WebhookAttempts(ctx, w.ID, now.Add(-time.Minute)); err != nil || got.Attempts != 20 || got.P50 != 3 {
				t.Errorf("counted %+v %v, want 20 attempts of 3 ms", got, err)
			}
		})
	}
}

// BenchmarkEventLog_History is the first page of FusionAuth's event log search (ten
// events with deliveries to the dialect's webhooks, newest first, and how many there are,
// up to the cap), 20,600 such events kept.
func BenchmarkEventLog_History(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		attemptHistory(b, db, w)
		b.ResetTimer()
		for b.Loop() {
			if evs, total, err := db.EventLog(ctx, store.EventLogFilter{Dialect: w.Dialect, Limit: 10}); err != nil || len(evs) != 10 || total < db.CountCap {
				b.Fatal(err, len(evs), total)
			}
		}
	})
}

// BenchmarkOwnedDeliveries_History is Nursa's delivery log for a client whose webhook has
// 20,600 attempted deliveries: the first page of ten, and the deepest the API serves (at
// 10,000). Sorted across the client's webhooks in one query, SQLite sorted them all for
// each page: 22 ms for the first, 51 ms at 10,000.
func BenchmarkOwnedDeliveries_History(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB, w *store.Webhook) {
		ctx := context.Background()
		attemptHistory(b, db, w)
		for _, off := range []int{0, 10000} {
			b.Run(map[int]string{0: "first", 10000: "deep"}[off], func(b *testing.B) {
				for b.Loop() {
					if ds, _, err := db.OwnedDeliveries(ctx, store.OwnedDeliveryFilter{Dialect: w.Dialect, Owner: w.Owner, Offset: off, Limit: 10}); err != nil || len(ds) != 10 {
						b.Fatal(err, len(ds))
					}
				}
			})
		}
	})
}
