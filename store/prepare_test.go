package store_test

import (
	"context"
	"database/sql"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A transaction's statements never wait for GORM's statement cache: the writes of a
// webhook's health that recording attempts makes, nor any other. On SQLite every
// statement waits for the one connection; GORM's cache holds its lock while a query
// waits for another's first preparation, which waits for that connection: a
// transaction holding it that prepared a statement of its own through the cache then
// waited for ever, and every delivery with it.
func TestTransactions_DoNotWaitForTheStatementCache(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	w := &store.Webhook{Dialect: "test", ExternalID: uuid.NewString(), URL: "https://example.com/h", Enabled: true, Global: true}
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var readers sync.WaitGroup
	go func() {
		done <- db.InSQLiteTx(ctx, func(tx *store.DB, _ *sql.Tx) error {
			// Two reads outside it, of a statement prepared for the first time: one waits
			// for the connection to prepare it, the other for that preparation.
			for range 2 {
				readers.Go(func() { _, _, _ = db.FindEvents(ctx, store.EventFilter{Type: "never.seen", Limit: 1}) })
			}
			waitingForPreparation(t)
			if _, err := tx.SetFailingSince(ctx, w.ID, time.Now()); err != nil {
				return err
			}
			if _, err := tx.MarkHealthy(ctx, []string{w.ID}); err != nil {
				return err
			}
			if _, err := tx.DisableOnce(ctx, w.ID, "test"); err != nil {
				return err
			}
			_, err := tx.WebhookByID(ctx, w.ID)
			return err
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the transaction waited for the statement cache for 20 s")
	}
	readers.Wait()
}

// waitingForPreparation waits until a goroutine waits in GORM's statement cache for
// another's preparation of a statement.
func waitingForPreparation(t *testing.T) {
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); runtime.Gosched() {
		if strings.Contains(string(buf[:runtime.Stack(buf, true)]), "stmt_store.(*lruStore).Get") {
			return
		}
	}
	t.Error("no query waited for another's preparation: the test did not set up what it tests")
}
