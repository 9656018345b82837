package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// TestActivity checks the per-minute counts a dashboard charts, the oldest pending
// delivery and the webhooks' health, on both backends.
func TestActivity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 18, 30, 20, 0, time.UTC)
		healthy := &store.Webhook{Dialect: "nursa", ExternalID: "h", URL: "https://h.example.com", Enabled: true}
		failing := &store.Webhook{Dialect: "nursa", ExternalID: "f", URL: "https://f.example.com", Enabled: true}
		off := &store.Webhook{Dialect: "xsolla", ExternalID: "o", URL: "https://o.example.com", Enabled: false}
		disabled := &store.Webhook{Dialect: "authing", ExternalID: "d", URL: "https://d.example.com", Enabled: true}
		for _, w := range []*store.Webhook{healthy, failing, off, disabled} {
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SetFailingSince(ctx, failing.ID, now); err != nil {
			t.Fatal(err)
		}
		if err := db.DisableWebhook(ctx, disabled.ID, "answered 410"); err != nil {
			t.Fatal(err)
		}
		// Events: two in 18:30, one in 18:28, one two hours back (outside the window).
		at := []time.Time{now, now.Add(-15 * time.Second), now.Add(-2 * time.Minute), now.Add(-2 * time.Hour)}
		for i, ts := range at {
			ev := &store.Event{ID: fmt.Sprintf("ev-%d", i), Type: "user.created", OccurredAt: ts, CreatedAt: ts}
			d := []store.Delivery{{ID: fmt.Sprintf("d-%d", i), EventID: ev.ID, WebhookID: healthy.ID, Dialect: "nursa", EventName: "all", Status: store.DeliveryPending}}
			if err := storetest.CreateEvent(ctx, db, ev, d); err != nil {
				t.Fatal(err)
			}
		}
		// Attempts: a 200 and a 500 in 18:30, a connection failure in 18:29.
		for i, a := range []struct {
			status int
			at     time.Time
		}{{200, now}, {500, now.Add(-5 * time.Second)}, {0, now.Add(-50 * time.Second)}} {
			d := &store.Delivery{ID: fmt.Sprintf("d-%d", i), Status: store.DeliveryPending, Attempts: 1, LastStatus: a.status}
			if a.status == 200 {
				d.Status = store.DeliverySucceeded
			}
			if err := storetest.RecordAttempt(ctx, db, &store.Attempt{ID: fmt.Sprintf("a-%d", i), DeliveryID: d.ID, Number: 1, URL: "https://h.example.com", StartedAt: a.at, ResponseStatus: a.status}, d); err != nil {
				t.Fatal(err)
			}
		}

		minutes, err := db.Activity(ctx, now, 60)
		if err != nil {
			t.Fatal(err)
		}
		if len(minutes) != 60 || !minutes[59].Start.Equal(now.Truncate(time.Minute)) || !minutes[0].Start.Equal(now.Truncate(time.Minute).Add(-59*time.Minute)) {
			t.Fatalf("minutes: %d, first %v, last %v", len(minutes), minutes[0].Start, minutes[len(minutes)-1].Start)
		}
		want := map[int]store.Minute{59: {Published: 2, Succeeded: 1, Failed: 1}, 58: {Failed: 1}, 57: {Published: 1}}
		for i, m := range minutes {
			w := want[i]
			if m.Published != w.Published || m.Succeeded != w.Succeeded || m.Failed != w.Failed {
				t.Errorf("minute %d (%v): %+v, want %+v", i, m.Start, m, w)
			}
		}

		oldest, err := db.OldestPending(ctx)
		if err != nil || oldest == nil || oldest.ID != "d-3" {
			t.Errorf("oldest pending: %+v %v", oldest, err)
		}
		// Backlog feeds the backlog gauge; SQLite keeps times as text, which MIN() returns.
		if n, oldestAt, err := db.Backlog(ctx); err != nil || n != 3 || !oldestAt.Equal(at[3]) {
			t.Errorf("backlog: %d %v %v", n, oldestAt, err)
		}
		total, nFailing, nDisabled, err := db.WebhookHealth(ctx)
		if err != nil || total != 4 || nFailing != 1 || nDisabled != 2 {
			t.Errorf("health: total %d failing %d disabled %d %v", total, nFailing, nDisabled, err)
		}
		for health, ids := range map[string][]string{
			store.HealthHealthy: {healthy.ID}, store.HealthFailing: {failing.ID}, store.HealthDisabled: {off.ID, disabled.ID},
		} {
			ws, n, err := db.FindWebhooks(ctx, store.WebhookFilter{Health: health})
			if err != nil || int(n) != len(ids) || len(ws) != len(ids) {
				t.Errorf("health %s: %d %v", health, n, err)
				continue
			}
			got := map[string]bool{}
			for _, w := range ws {
				got[w.ID] = true
			}
			for _, id := range ids {
				if !got[id] {
					t.Errorf("health %s: %s missing", health, id)
				}
			}
		}
		if _, _, err := db.FindWebhooks(ctx, store.WebhookFilter{Health: "sad"}); store.ErrorCode(err) != store.EINVALID {
			t.Errorf("unknown health: %v", err)
		}
		// Nothing pending: no oldest.
		for i := range at {
			_ = storetest.SetDeliveryStatus(ctx, db, fmt.Sprintf("d-%d", i), store.DeliveryFailed, "x")
		}
		if oldest, err := db.OldestPending(ctx); err != nil || oldest != nil {
			t.Errorf("oldest pending of none: %+v %v", oldest, err)
		}
	})
}

// The chart's counts are kept as events and attempts are written: they stay when the rows
// they count are pruned, an older version's rows are counted once when the table is
// new, and minutes past the longest window are forgotten.
func TestActivity_KeptCounts(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			db := storetest.OpenDSN(t, dsn)
			w := &store.Webhook{Dialect: "nursa", ExternalID: "h", URL: "https://h.example.com", Enabled: true}
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Minute).Add(30 * time.Second)
			for i, status := range []int{200, 200, 503} {
				ev := &store.Event{ID: fmt.Sprintf("ev-%d", i), Type: "user.created", OccurredAt: now, CreatedAt: now}
				d := []store.Delivery{{ID: fmt.Sprintf("d-%d", i), EventID: ev.ID, WebhookID: w.ID, Dialect: "nursa", EventName: "all", Status: store.DeliveryPending}}
				if err := storetest.CreateEvent(ctx, db, ev, d); err != nil {
					t.Fatal(err)
				}
				dl := &store.Delivery{ID: d[0].ID, Status: store.DeliverySucceeded, Attempts: 1, LastStatus: status}
				if err := storetest.RecordAttempt(ctx, db, &store.Attempt{ID: fmt.Sprintf("a-%d", i), DeliveryID: dl.ID, Number: 1, URL: w.URL, StartedAt: now, ResponseStatus: status}, dl); err != nil {
					t.Fatal(err)
				}
			}
			want := store.Minute{Start: now.Truncate(time.Minute), Published: 3, Succeeded: 2, Failed: 1}
			check := func(when string) {
				t.Helper()
				ms, err := db.Activity(ctx, now, 5)
				if err != nil || len(ms) != 5 || ms[4] != want || ms[3].Published+ms[3].Succeeded+ms[3].Failed != 0 {
					t.Errorf("%s: %+v %v, want the last minute %+v", when, ms, err, want)
				}
			}
			check("written")
			if _, err := db.SQL().ExecContext(ctx, "DELETE FROM attempts"); err != nil {
				t.Fatal(err)
			}
			check("the attempts deleted")

			// An older version's rows, never counted: counted once, at the next start.
			if _, err := db.SQL().ExecContext(ctx, "DELETE FROM activity_minutes"); err != nil {
				t.Fatal(err)
			}
			db.Close()
			db = storetest.OpenDSN(t, dsn)
			want.Succeeded, want.Failed = 0, 0 // their attempts are gone
			check("counted from the rows at a start")
			db.Close()
			db = storetest.OpenDSN(t, dsn)
			check("a second start")

			if err := db.PruneActivity(ctx, now.Add(47*time.Hour)); err != nil {
				t.Fatal(err)
			}
			check("pruned before the minute's end of keeping")
			if err := db.PruneActivity(ctx, now.Add(49*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if ms, err := db.Activity(ctx, now, 5); err != nil || ms[4].Published != 0 {
				t.Errorf("a minute kept past two days: %+v %v", ms[4], err)
			}
		})
	}
}
