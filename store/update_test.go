package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// writers is how many clients change one webhook at once in these tests: more than the
// audit's 20, each making a different change that must all be kept.
const writers = 24

// Concurrent read-modify-writes of one webhook, each changing a different part of it,
// are all kept: none is written over a state it did not read.
func TestUpdateWebhook_ConcurrentChangesAllKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		w.Headers, w.TenantIDs, w.Events = map[string]string{}, nil, nil
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		key := store.WebhookKey{Dialect: w.Dialect, ExternalID: w.ExternalID}
		var wg sync.WaitGroup
		errs := make(chan error, 3*writers)
		for i := range writers {
			for _, change := range []func(*store.Webhook) error{
				func(w *store.Webhook) error {
					if w.Headers == nil {
						w.Headers = map[string]string{}
					}
					w.Headers[fmt.Sprintf("X-H-%d", i)] = "v"
					return nil
				},
				func(w *store.Webhook) error {
					w.TenantIDs = append(w.TenantIDs, fmt.Sprintf("tenant-%d", i))
					return nil
				},
				func(w *store.Webhook) error {
					w.Events = append(w.Events, fmt.Sprintf("event.%d", i))
					return nil
				},
			} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := db.UpdateWebhook(ctx, key, change); err != nil {
						errs <- err
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("update: %v", err)
		}
		got, err := db.GetWebhook(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Headers) != writers || len(got.TenantIDs) != writers || len(got.Events) != writers {
			t.Errorf("kept %d/%d headers, %d/%d tenants, %d/%d events", len(got.Headers), writers, len(got.TenantIDs), writers, len(got.Events), writers)
		}
		if got.Version != 3*writers {
			t.Errorf("version %d after %d updates", got.Version, 3*writers)
		}
	})
}

// Rotations are read-modify-writes too: every secret a rotation answered with signs.
func TestRotateSigningSecret_Concurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		answered := map[string]bool{}
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := db.RotateSigningSecret(ctx, w.ID, time.Hour)
				if err != nil {
					t.Errorf("rotate: %v", err)
					return
				}
				mu.Lock()
				answered[r.SigningSecrets[0].Secret] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
		got, err := db.WebhookByID(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		active := map[string]bool{}
		for _, s := range got.ActiveSecrets(db.Now()) {
			active[s] = true
		}
		for s := range answered {
			if !active[s] {
				t.Errorf("a rotation's new secret was lost")
			}
		}
		if len(got.SigningSecrets) != writers+1 {
			t.Errorf("%d secrets after %d rotations, want %d", len(got.SigningSecrets), writers, writers+1)
		}
	})
}

// A change that fails stores nothing, and its error comes back as it is; an update and a
// rotation at once both stay.
func TestUpdateWebhook_ChangeErrorAndOtherColumns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		key := store.WebhookKey{Dialect: w.Dialect, ExternalID: w.ExternalID}
		mine := errors.New("refused by the dialect")
		if _, err := db.UpdateWebhook(ctx, key, func(w *store.Webhook) error { w.URL = "https://changed.example"; return mine }); err != mine {
			t.Fatalf("change error: got %v, want it unchanged", err)
		}
		rotated, err := db.RotateSigningSecret(ctx, w.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateWebhook(ctx, key, func(w *store.Webhook) error { w.Description = "after"; return nil }); err != nil {
			t.Fatal(err)
		}
		got, _ := db.GetWebhook(ctx, key)
		if got.URL != w.URL || got.Description != "after" || got.SigningSecrets[0].Secret != rotated.SigningSecrets[0].Secret {
			t.Errorf("after a failed change, a rotation and an update: url %q description %q", got.URL, got.Description)
		}
	})
}
