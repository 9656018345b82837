package store_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

func hook(id string) *store.Webhook {
	return &store.Webhook{Dialect: "nursa", Owner: "c", ExternalID: id, URL: "https://example.com/h", Events: []string{"all"}, Enabled: true}
}

func publish(ctx context.Context, db *store.DB, id string) error {
	return db.InTx(ctx, func(tx *store.DB) error {
		return storetest.CreateEvent(ctx, tx, &store.Event{ID: id, Type: "user.created", Data: []byte(`{"a":"` + strings.Repeat("x", 4000) + `"}`)}, nil)
	})
}

func requireUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if store.ErrorCode(err) != store.EUNAVAILABLE {
		t.Errorf("%s: %v, want %s", what, err, store.EUNAVAILABLE)
	}
}

func TestCheck_Healthy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := 0; i < 2; i++ { // the probe row is written, then overwritten
			if err := db.Check(ctx); err != nil {
				t.Fatalf("check %d: %v", i, err)
			}
		}
		if err := publish(ctx, db, "e1"); err != nil {
			t.Fatal(err)
		}
	})
}

// An SQLite file removed with its directory keeps answering through the open descriptor;
// everything written after is lost at the next start. The store must refuse it.
func TestCheck_SQLiteDirectoryRemoved(t *testing.T) {
	ctx := context.Background()
	path := storetest.SQLiteDSN(t)
	db := storetest.OpenDSN(t, path)
	if err := db.CreateWebhook(ctx, hook("a")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	requireUnavailable(t, "check", db.Check(ctx))
	requireUnavailable(t, "publish", publish(ctx, db, "e1"))
	requireUnavailable(t, "create a webhook", db.CreateWebhook(ctx, hook("b")))
	_, err := db.GetWebhook(ctx, store.WebhookKey{Dialect: "nursa", Owner: "c", ExternalID: "a"})
	requireUnavailable(t, "read a webhook", err)
}

func TestCheck_SQLiteFileReplaced(t *testing.T) {
	ctx := context.Background()
	path := storetest.SQLiteDSN(t)
	db := storetest.OpenDSN(t, path)
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	requireUnavailable(t, "check", db.Check(ctx))
	requireUnavailable(t, "publish", publish(ctx, db, "e1"))
	// Put the original back: the store is itself again.
	if err := os.Rename(path+".old", path); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("check with the file back: %v", err)
	}
}

func TestCheck_SQLiteDiskFull(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// Too little room left on the disk: not ready.
	db.MinFreeBytes = 1 << 62
	requireUnavailable(t, "check with the disk nearly full", db.Check(ctx))
	db.MinFreeBytes = 0
	// SQLite's own "disk full", forced by capping the file at its current size: writes
	// that need a new page fail with SQLITE_FULL.
	var pages int
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, "PRAGMA max_page_count = "+strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = publish(ctx, db, "full-"+strconv.Itoa(i))
	}
	requireUnavailable(t, "publish on a full disk", err)
}

// TestCheck_SchemaDropped: a database recreated empty under a running gateway answers
// pings, but keeps nothing.
func TestCheck_SchemaDropped(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			db := storetest.OpenDSN(t, dsn)
			if b.Name == store.BackendSQLite {
				if _, err := db.SQL().ExecContext(ctx, "DROP TABLE attempts"); err != nil {
					t.Fatal(err)
				}
				requireUnavailable(t, "check", db.Check(ctx))
				return
			}
			u, _ := url.Parse(dsn)
			schema := u.Query().Get("search_path")
			conn, err := pgx.Connect(ctx, os.Getenv("TEST_DATABASE_URL"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
				t.Fatal(err)
			}
			requireUnavailable(t, "check", db.Check(ctx))
			requireUnavailable(t, "publish", publish(ctx, db, "e1"))
			requireUnavailable(t, "create a webhook", db.CreateWebhook(ctx, hook("a")))
		})
	}
}

// TestOutage: once the database is gone, every kind of call is EUNAVAILABLE (answered
// 503), not an internal error.
func TestOutage(t *testing.T) {
	storetest.EachOutage(t, func(t *testing.T, db *store.DB, cut func()) {
		ctx := context.Background()
		if err := db.CreateWebhook(ctx, hook("a")); err != nil {
			t.Fatal(err)
		}
		cut()
		requireUnavailable(t, "check", db.Check(ctx))
		requireUnavailable(t, "publish", publish(ctx, db, "e1"))
		requireUnavailable(t, "create a webhook", db.CreateWebhook(ctx, hook("b")))
		_, err := db.GetWebhook(ctx, store.WebhookKey{Dialect: "nursa", Owner: "c", ExternalID: "a"})
		requireUnavailable(t, "read a webhook", err)
		_, err = db.Credential(ctx, "nursa", "x")
		requireUnavailable(t, "look up a credential", err)
	})
}
