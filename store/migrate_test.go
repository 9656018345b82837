package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A database an older version made has the deliveries' full status and claimed_until
// indexes, and the attempts' full webhook index: the next start replaces them with their
// partial successors and keeps the rows, and the backlog is then counted from the new
// index.
func TestOpen_RetiresOldIndexes(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			db := storetest.OpenDSN(t, dsn)
			w := fullWebhook()
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			at := time.Now().UTC().Truncate(time.Millisecond)
			ev := &store.Event{ID: "evt_old", Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at, Deliveries: 2}
			ds := []store.Delivery{
				{ID: "msg_pending", EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create", Status: store.DeliveryPending, CreatedAt: at, UpdatedAt: at},
				{ID: "msg_done", EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create", Status: store.DeliverySucceeded, CreatedAt: at, UpdatedAt: at},
			}
			if err := db.CreateEvents(ctx, []*store.Event{ev}, ds); err != nil {
				t.Fatal(err)
			}
			// What an older version left.
			for _, q := range []string{
				"DROP INDEX idx_delivery_open", "DROP INDEX idx_delivery_claimed", "DROP INDEX idx_delivery_held_webhook",
				"CREATE INDEX idx_deliveries_status ON deliveries (status)",
				"CREATE INDEX idx_deliveries_claimed_until ON deliveries (claimed_until)",
				"CREATE INDEX idx_delivery_held ON deliveries (held_at) WHERE held_at IS NOT NULL",
				"DROP INDEX idx_attempt_webhook_log",
				"CREATE INDEX idx_attempt_webhook ON attempts (webhook_digest, started_at)",
			} {
				if _, err := db.SQL().ExecContext(ctx, q); err != nil {
					t.Fatal(q, err)
				}
			}
			db.Close()

			db = storetest.OpenDSN(t, dsn)
			got := indexes(t, db)
			for _, name := range []string{"idx_delivery_open", "idx_delivery_claimed", "idx_delivery_held_webhook", "idx_attempt_webhook_log"} {
				if !got[name] {
					t.Errorf("index %s missing after the migration: %v", name, got)
				}
			}
			for _, name := range []string{"idx_deliveries_status", "idx_deliveries_claimed_until", "idx_delivery_held", "idx_attempt_webhook"} {
				if got[name] {
					t.Errorf("retired index %s still there", name)
				}
			}
			n, oldest, err := db.Backlog(ctx)
			if err != nil || n != 1 || !oldest.Equal(at) {
				t.Errorf("backlog after the migration: %d %v %v, want 1 pending since %v", n, oldest, err, at)
			}
			if _, total, err := db.FindDeliveries(ctx, store.DeliveryFilter{Status: store.DeliverySucceeded}); err != nil || total != 1 {
				t.Errorf("succeeded deliveries after the migration: %d %v", total, err)
			}
			if db.Backend() == store.BackendSQLite {
				plan := queryPlan(t, db, "SELECT count(*) FROM deliveries WHERE status <> 'succeeded' AND status = ?", store.DeliveryPending)
				if !strings.Contains(plan, "idx_delivery_open") {
					t.Errorf("the backlog count does not use idx_delivery_open: %s", plan)
				}
			}
		})
	}
}

func indexes(t *testing.T, db *store.DB) map[string]bool {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'index'"
	if db.Backend() == store.BackendPostgres {
		q = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
	}
	rows, err := db.SQL().QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		out[name] = true
	}
	return out
}

// A start on an SQLite database that is up to date copies no table (SQLite alters a
// column only by copying its table): the rows keep their rowids. A column and an index
// an older version lacked are added, and the rows kept.
func TestOpen_SQLiteAddsWithoutCopying(t *testing.T) {
	ctx := context.Background()
	dsn := t.TempDir() + "/old.db"
	db := storetest.OpenDSN(t, dsn)
	at := time.Now().UTC().Truncate(time.Millisecond)
	evs := []*store.Event{
		{ID: "evt_1", Type: "user.created", Data: []byte(`{}`), OccurredAt: at, CreatedAt: at},
		{ID: "evt_2", Type: "user.created", Tenant: "t", Data: []byte(`{"a":1}`), OccurredAt: at, CreatedAt: at},
	}
	if err := db.CreateEvents(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"DELETE FROM events WHERE id = 'evt_1'", // a copy would number the rest from 1 again
		"DROP INDEX idx_events_created_at",
		"ALTER TABLE attempts DROP COLUMN omitted_headers",
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()

	db = storetest.OpenDSN(t, dsn)
	var rowid int64
	if err := db.SQL().QueryRowContext(ctx, "SELECT rowid FROM events WHERE id = 'evt_2'").Scan(&rowid); err != nil || rowid != 2 {
		t.Errorf("events' rowid after a start: %d %v, want 2 (the table was copied)", rowid, err)
	}
	ev, err := db.GetEvent(ctx, "evt_2")
	if err != nil || ev.Tenant != "t" || string(ev.Data) != `{"a":1}` {
		t.Errorf("event after a start: %+v %v", ev, err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM pragma_table_info('attempts') WHERE name = 'omitted_headers'").Scan(&n); err != nil || n != 1 {
		t.Errorf("omitted_headers after a start: %d %v, want the column added", n, err)
	}
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'idx_events_created_at'").Scan(&n); err != nil || n != 1 {
		t.Errorf("idx_events_created_at after a start: %d %v, want the index added", n, err)
	}
}

// An SQLite database an older version wrote keeps its times as text ("2026-12-06
// 17:36:38.47 +0000 UTC"). The first start of this version turns every one into
// milliseconds since the epoch, once: the rows read back the same, and the queries that
// bound rows by time find them (SQLite orders every integer before every text, so a
// text left among integers would fall outside every bound).
func TestOpen_SQLiteTextTimesBecomeIntegers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := t.TempDir() + "/old.db"
	db := storetest.OpenDSN(t, dsn)
	w := fullWebhook()
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 17, 36, 38, 470_000_000, time.UTC)
	occurred := time.Date(1999, 12, 31, 23, 59, 59, 123_456_000, time.FixedZone("", 2*3600))
	ev := &store.Event{ID: "evt_old", Type: "user.created", Data: []byte(`{}`), OccurredAt: occurred, CreatedAt: at, Deliveries: 1}
	ds := []store.Delivery{{ID: "msg_old", EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create",
		Status: store.DeliveryPending, NextAttemptAt: &at, CreatedAt: at, UpdatedAt: at}}
	if err := db.CreateEvents(ctx, []*store.Event{ev}, ds); err != nil {
		t.Fatal(err)
	}
	// What an older version wrote: Go's time.String, and no mark.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"UPDATE events SET created_at = ?, occurred_at = ?", []any{at.String(), occurred.String()}},
		{"UPDATE deliveries SET created_at = ?, updated_at = ?, next_attempt_at = ?", []any{at.String(), at.String(), at.String()}},
		{"UPDATE webhooks SET created_at = ?, updated_at = ?", []any{at.String(), at.String()}},
		{"DELETE FROM settings WHERE key = 'sqlite_times'", nil},
	} {
		if _, err := db.SQL().ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(q.sql, err)
		}
	}
	db.Close()

	db = storetest.OpenDSN(t, dsn)
	var texts int
	if err := db.SQL().QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM events WHERE typeof(created_at) <> 'integer' OR typeof(occurred_at) <> 'integer') +
		(SELECT count(*) FROM deliveries WHERE typeof(created_at) <> 'integer' OR typeof(updated_at) <> 'integer' OR typeof(next_attempt_at) <> 'integer') +
		(SELECT count(*) FROM webhooks WHERE typeof(created_at) <> 'integer')`).Scan(&texts); err != nil || texts != 0 {
		t.Errorf("rows with a time not converted: %d %v", texts, err)
	}
	got, err := db.GetEvent(ctx, ev.ID)
	if err != nil || !got.CreatedAt.Equal(at) || !got.OccurredAt.Equal(occurred) {
		t.Errorf("event after the conversion: %+v %v, want created %v, occurred %v", got, err, at, occurred)
	}
	for _, c := range []struct {
		f    store.DeliveryFilter
		want int64
	}{
		{store.DeliveryFilter{Since: at, Until: at.Add(time.Second)}, 1},
		{store.DeliveryFilter{Until: at}, 0},
		{store.DeliveryFilter{Since: at.Add(time.Millisecond)}, 0},
	} {
		if _, n, err := db.FindDeliveries(ctx, c.f); err != nil || n != c.want {
			t.Errorf("deliveries in [%v, %v): %d %v, want %d", c.f.Since, c.f.Until, n, err, c.want)
		}
	}
	d, err := db.GetDelivery(ctx, "msg_old")
	if err != nil || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(at) {
		t.Errorf("delivery after the conversion: %+v %v", d, err)
	}
}

// queryPlan returns SQLite's plan for q, its steps joined by "; ".
func queryPlan(t *testing.T, db *store.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.SQL().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(detail + "; ")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}
