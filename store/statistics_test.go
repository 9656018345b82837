package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// PostgreSQL gathers the statistics of a table once it has rows and none, and only then:
// an empty table and one with statistics are left as they are. SQLite has none to gather.
func TestAnalyzeUnknown(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if db.Backend() != store.BackendPostgres {
			if err := db.AnalyzeUnknown(ctx); err != nil {
				t.Fatal(err)
			}
			return
		}
		// analyzed says how many times the table was analyzed, and whether it has
		// statistics.
		analyzed := func(table string) (n int64, known bool) {
			t.Helper()
			err := db.SQL().QueryRowContext(ctx, `SELECT COALESCE((SELECT analyze_count FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname = $1), 0),
EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1)`, table).Scan(&n, &known)
			if err != nil {
				t.Fatal(err)
			}
			return n, known
		}
		if err := db.AnalyzeUnknown(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := analyzed("events"); n != 0 {
			t.Fatalf("an empty table was analyzed %d times", n)
		}
		at := time.Now().UTC().Truncate(time.Millisecond)
		for i := range 50 {
			ev := &store.Event{ID: fmt.Sprintf("evt_%02d", i), Type: "user.created", Data: json.RawMessage(`{}`), OccurredAt: at, CreatedAt: at}
			if err := storetest.CreateEvent(ctx, db, ev, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, known := analyzed("events"); known {
			t.Fatal("the events have statistics before any analyze")
		}
		if err := db.AnalyzeUnknown(ctx); err != nil {
			t.Fatal(err)
		}
		if n, known := analyzed("events"); n != 1 || !known {
			t.Fatalf("events analyzed %d times, statistics %v; want once, and statistics", n, known)
		}
		if n, _ := analyzed("deliveries"); n != 0 {
			t.Fatalf("the empty deliveries were analyzed %d times", n)
		}
		if err := db.AnalyzeUnknown(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := analyzed("events"); n != 1 {
			t.Fatalf("events with statistics analyzed again: %d times", n)
		}
	})
}
