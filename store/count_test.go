package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A listing counts the rows that match up to CountCap and one more, on either backend.
func TestFind_CountsUpToTheCap(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		db.CountCap = 2
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i := range 4 {
			id := "evt_cap_" + strconv.Itoa(i)
			if err := storetest.CreateEvent(ctx, db, &store.Event{ID: id, Type: "x", CreatedAt: at, OccurredAt: at}, nil); err != nil {
				t.Fatal(err)
			}
		}
		evs, total, err := db.FindEvents(ctx, store.EventFilter{Limit: 10})
		if err != nil || len(evs) != 4 || total != 3 {
			t.Errorf("4 events, cap 2: %d listed, total %d (%v); want 4 and 3", len(evs), total, err)
		}
		evs, total, err = db.FindEvents(ctx, store.EventFilter{Type: "x", Limit: 1, Offset: 1})
		if err != nil || len(evs) != 1 || total != 3 {
			t.Errorf("a page of 1 at 1: %d listed, total %d (%v)", len(evs), total, err)
		}
		if _, total, err = db.FindEvents(ctx, store.EventFilter{Type: "y"}); err != nil || total != 0 {
			t.Errorf("none match: total %d (%v)", total, err)
		}
	})
}

// A listing of events by type, by tenant, or both, finds exactly those, newest first,
// on either backend, through their indexes (the tenant's holds only events that have one).
func TestFindEvents_ByTypeAndTenant(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i, e := range []struct{ typ, tenant string }{
			{"a", ""}, {"b", "t1"}, {"a", "t1"}, {"a", "t2"}, {"b", ""}, {"a", "t1"},
		} {
			ev := &store.Event{ID: "evt_f" + strconv.Itoa(i), Type: e.typ, Tenant: e.tenant, CreatedAt: at.Add(time.Duration(i) * time.Second), OccurredAt: at}
			if err := storetest.CreateEvent(ctx, db, ev, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			f    store.EventFilter
			want string
		}{
			{store.EventFilter{Type: "a"}, "evt_f5 evt_f3 evt_f2 evt_f0"},
			{store.EventFilter{Tenant: "t1"}, "evt_f5 evt_f2 evt_f1"},
			{store.EventFilter{Type: "b", Tenant: "t1"}, "evt_f1"},
			{store.EventFilter{Type: "a", Since: at.Add(2 * time.Second), Until: at.Add(5 * time.Second)}, "evt_f3 evt_f2"},
			{store.EventFilter{Tenant: "t3"}, ""},
		} {
			c.f.Limit = 10
			evs, total, err := db.FindEvents(ctx, c.f)
			var got []string
			for _, ev := range evs {
				got = append(got, ev.ID)
			}
			if err != nil || strings.Join(got, " ") != c.want || total != int64(len(got)) {
				t.Errorf("%+v: %v, total %d (%v); want %s", c.f, got, total, err, c.want)
			}
		}
		if db.Backend() == store.BackendSQLite {
			for q, index := range map[string]string{
				"SELECT id FROM events WHERE type = 'a' ORDER BY created_at DESC, id DESC LIMIT 10":                     "idx_event_type",
				"SELECT id FROM events WHERE tenant = 't1' AND tenant <> '' ORDER BY created_at DESC, id DESC LIMIT 10": "idx_event_tenant",
			} {
				if plan := queryPlan(t, db, q); !strings.Contains(plan, index) {
					t.Errorf("%s does not use %s: %s", q, index, plan)
				}
			}
		}
	})
}

// FusionAuth's event log search counts as the other listings do: up to the cap and one
// more, which says that more match.
func TestEventLog_CountsUpToTheCap(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		db.CountCap = 2
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		w := &store.Webhook{Dialect: "fusionauth", ExternalID: "log", URL: "https://example.com/log", Events: []string{"all"}, Enabled: true}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			id := "evt_log_" + strconv.Itoa(i)
			d := store.Delivery{ID: "msg_" + id, EventID: id, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create",
				Status: store.DeliveryPending, CreatedAt: at, UpdatedAt: at}
			if err := storetest.CreateEvent(ctx, db, &store.Event{ID: id, Type: "x", CreatedAt: at, OccurredAt: at}, []store.Delivery{d}); err != nil {
				t.Fatal(err)
			}
		}
		evs, total, err := db.EventLog(ctx, store.EventLogFilter{Dialect: w.Dialect, Limit: 10})
		if err != nil || len(evs) != 4 || total != 3 {
			t.Errorf("4 events, cap 2: %d listed, total %d (%v); want 4 and 3", len(evs), total, err)
		}
		// No page past the count: no offset walks further than the cap.
		if evs, total, err := db.EventLog(ctx, store.EventLogFilter{Dialect: w.Dialect, Offset: 3, Limit: 10}); err != nil || len(evs) != 0 || total != 3 {
			t.Errorf("cap 2, a page at 3: %d listed, total %d (%v); want none and 3", len(evs), total, err)
		}
		db.CountCap = 10
		if evs, total, err := db.EventLog(ctx, store.EventLogFilter{Dialect: w.Dialect, Outcome: store.OutcomeRunning, Limit: 1, Offset: 1}); err != nil || len(evs) != 1 || total != 4 {
			t.Errorf("running, a page of 1 at 1: %d listed, total %d (%v); want 1 and 4", len(evs), total, err)
		}
	})
}

// Events page by cursor: newest first, ties in time broken by id, with the filters, none
// repeated or skipped while new ones arrive between pages; an offset past the count reads
// nothing, and a cursor this API did not give out is EINVALID.
func TestFindEventPage_ByCursor(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		db.CountCap = 20
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		add := func(i int, typ string) {
			// Four to a millisecond, ids out of time order.
			ev := &store.Event{ID: "evt_p" + strconv.Itoa((i*7)%100+100), Type: typ, CreatedAt: at.Add(time.Duration(i/4) * time.Millisecond), OccurredAt: at}
			if err := storetest.CreateEvent(ctx, db, ev, nil); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 50 {
			add(i, map[bool]string{true: "b", false: "a"}[i%3 == 0])
		}
		all, _, err := db.FindEvents(ctx, store.EventFilter{Type: "a", Limit: 100})
		if err != nil || len(all) != 33 {
			t.Fatalf("type a: %d %v", len(all), err)
		}
		var got []string
		p := store.EventPage{EventFilter: store.EventFilter{Type: "a", Limit: 4}}
		for range 20 {
			evs, total, next, err := db.FindEventPage(ctx, p)
			if err != nil || total != 21 {
				t.Fatalf("page after %q: total %d %v, want the cap and one", p.After, total, err)
			}
			for _, ev := range evs {
				got = append(got, ev.ID)
			}
			if next == "" {
				break
			}
			if len(got) == 8 {
				// Newer events arriving do not move the pages after the first.
				add(60, "a")
				add(61, "a")
			}
			p.After = next
		}
		var want []string
		for _, ev := range all {
			want = append(want, ev.ID)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("by cursor, pages of 4:\n got %v\nwant %v", got, want)
		}

		p = store.EventPage{EventFilter: store.EventFilter{Type: "a", Limit: 4, Offset: 21}}
		if evs, total, next, err := db.FindEventPage(ctx, p); err != nil || len(evs) != 0 || total != 21 || next != "" {
			t.Errorf("an offset at the count: %d events, total %d, next %q, %v", len(evs), total, next, err)
		}
		p.Offset = 2 // past the two added since
		if evs, _, next, err := db.FindEventPage(ctx, p); err != nil || len(evs) != 4 || evs[0].ID != want[0] || next == "" {
			t.Errorf("an offset inside the count: %d events, next %q, %v", len(evs), next, err)
		}
		if evs, total, err := db.FindEvents(ctx, store.EventFilter{Offset: 1 << 30, Limit: 10}); err != nil || len(evs) != 0 || total != 21 {
			t.Errorf("FindEvents at 2^30: %d events, total %d, %v", len(evs), total, err)
		}
		for _, bad := range []string{"x", "bm90IGEgY3Vyc29y"} {
			if _, _, _, err := db.FindEventPage(ctx, store.EventPage{After: bad}); store.ErrorCode(err) != store.EINVALID {
				t.Errorf("cursor %q: %v, want EINVALID", bad, err)
			}
		}
	})
}
