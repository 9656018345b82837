package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// WebhookWrites moves with every write that changes a webhook, and only with those: the
// engine trusts a webhook read while it has not moved (on SQLite).
func TestWebhookWrites_CountsChangesOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &store.Webhook{Dialect: "test", ExternalID: uuid.NewString(), URL: "https://example.com/h", Enabled: true, Global: true}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		n0 := db.WebhookWrites()
		moved := func(what string, want bool) {
			t.Helper()
			n := db.WebhookWrites()
			if (n != n0) != want {
				t.Errorf("%s: writes went %d -> %d, want moved=%v", what, n0, n, want)
			}
			n0 = n
		}
		if _, err := db.MarkHealthy(ctx, []string{w.ID}); err != nil { // healthy already: nothing written
			t.Fatal(err)
		}
		moved("MarkHealthy of a healthy webhook", false)
		if _, err := db.WebhookStates(ctx, []string{w.ID}); err != nil {
			t.Fatal(err)
		}
		moved("a read", false)
		key := store.WebhookKey{Dialect: w.Dialect, Owner: w.Owner, ExternalID: w.ExternalID}
		if _, err := db.UpdateWebhook(ctx, key, func(w *store.Webhook) error { w.URL = "https://example.com/other"; return nil }); err != nil {
			t.Fatal(err)
		}
		moved("UpdateWebhook", true)
		if err := db.DisableWebhook(ctx, w.ID, "test"); err != nil {
			t.Fatal(err)
		}
		moved("DisableWebhook", true)
		if err := db.EnableWebhook(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		moved("EnableWebhook", true)
		if err := db.DeleteWebhook(ctx, key); err != nil {
			t.Fatal(err)
		}
		moved("DeleteWebhook", true)
	})
}
