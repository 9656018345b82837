package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

func fullWebhook() *store.Webhook {
	return &store.Webhook{
		Dialect:           "fusionauth",
		ExternalID:        "2f8e0d59-6f26-4d6a-9d3b-2b2d3b5e4a11",
		URL:               "https://example.com/hook",
		Name:              "name",
		Description:       "described",
		Events:            []string{"user.create", "user.delete"},
		Enabled:           true,
		Global:            false,
		TenantIDs:         []string{"7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80"},
		Headers:           map[string]string{"X-A": "b"},
		BasicAuthUser:     "user",
		BasicAuthPassword: "pass",
		ConnectTimeout:    1000,
		ReadTimeout:       2000,
		SSLCertificate:    "-----BEGIN CERTIFICATE-----\n...",
		SigningEnabled:    true,
		SigningKeyID:      "9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		Secrets:           []string{"s1", "s2"},
		ContentType:       "application/json",
		Retry:             &store.Retry{Enabled: true, Count: 3, Delay: 1, DelayUnit: "Minute"},
		Data:              json.RawMessage(`{"big":12345678901234567890,"list":["a"],"nested":{"n":1.5}}`),
		Extra:             map[string]any{"eventsDisabled": []any{"user.update"}},
	}
}

func TestOpen_MigratesTwice(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			db := storetest.OpenDSN(t, dsn)
			if err := db.CreateWebhook(context.Background(), fullWebhook()); err != nil {
				t.Fatal(err)
			}
			db.Close()
			// A second start migrates again and keeps the data.
			db2 := storetest.OpenDSN(t, dsn)
			w := fullWebhook()
			if _, err := db2.GetWebhook(context.Background(), store.WebhookKey{Dialect: w.Dialect, ExternalID: w.ExternalID}); err != nil {
				t.Fatalf("after second migration: %v", err)
			}
		})
	}
}

func TestOpen_ConcurrentMigrations(t *testing.T) {
	for _, b := range storetest.Backends() {
		if b.Name != store.BackendPostgres {
			continue
		}
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					db, err := store.Open(context.Background(), dsn)
					if err == nil {
						db.Close()
					}
					errs[i] = err
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Errorf("concurrent migration: %v", err)
				}
			}
		})
	}
}

func TestWebhook_RoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		if w.ID == "" || w.CreatedAt.IsZero() || !w.UpdatedAt.Equal(w.CreatedAt) {
			t.Fatalf("create did not fill id and times: %+v", w)
		}
		got, err := db.GetWebhook(ctx, store.WebhookKey{Dialect: w.Dialect, ExternalID: w.ExternalID})
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(w.CreatedAt) || !got.UpdatedAt.Equal(w.UpdatedAt) {
			t.Errorf("times: got %v/%v, want %v/%v", got.CreatedAt, got.UpdatedAt, w.CreatedAt, w.UpdatedAt)
		}
		got.CreatedAt, got.UpdatedAt = w.CreatedAt, w.UpdatedAt
		if !reflect.DeepEqual(got, w) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, w)
		}
	})
}

func TestWebhook_Conflict(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.CreateWebhook(ctx, fullWebhook()); err != nil {
			t.Fatal(err)
		}
		err := db.CreateWebhook(ctx, fullWebhook())
		if store.ErrorCode(err) != store.ECONFLICT {
			t.Fatalf("duplicate external id: got %v, want conflict", err)
		}
		other := fullWebhook()
		other.Dialect = "nursa"
		if err := db.CreateWebhook(ctx, other); err != nil {
			t.Fatalf("same external id in another dialect: %v", err)
		}
	})
}

func TestWebhook_ScopedByDialectAndOwner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		w.Dialect, w.Owner = "nursa", "client-a"
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		for _, key := range []store.WebhookKey{
			{Dialect: "nursa", Owner: "client-b", ExternalID: w.ExternalID},
			{Dialect: "fusionauth", Owner: "client-a", ExternalID: w.ExternalID},
		} {
			if _, err := db.GetWebhook(ctx, key); store.ErrorCode(err) != store.ENOTFOUND {
				t.Errorf("get %+v: got %v, want not found", key, err)
			}
			if err := db.DeleteWebhook(ctx, key); store.ErrorCode(err) != store.ENOTFOUND {
				t.Errorf("delete %+v: got %v, want not found", key, err)
			}
		}
		stolen := store.WebhookKey{Dialect: "nursa", Owner: "client-b", ExternalID: w.ExternalID}
		if _, err := db.UpdateWebhook(ctx, stolen, func(w *store.Webhook) error { w.URL = "https://evil.example"; return nil }); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("update under another owner: got %v, want not found", err)
		}
		if _, err := db.GetWebhook(ctx, store.WebhookKey{Dialect: "nursa", Owner: "client-a", ExternalID: w.ExternalID}); err != nil {
			t.Errorf("owner's own get: %v", err)
		}
	})
}

func TestWebhook_UpdateAndDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		created := w.CreatedAt
		clock := created.Add(5 * time.Second)
		db.Now = func() time.Time { return clock }
		key := store.WebhookKey{Dialect: w.Dialect, ExternalID: w.ExternalID}
		if _, err := db.UpdateWebhook(ctx, key, func(w *store.Webhook) error {
			w.URL, w.Description, w.Events, w.Headers, w.Retry, w.Enabled = "https://example.org/x", "", nil, nil, nil, false
			w.CreatedAt = time.Time{} // ignored: the creation time is never rewritten
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetWebhook(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL != "https://example.org/x" || got.Description != "" || len(got.Events) != 0 || got.Headers != nil || got.Retry != nil || got.Enabled {
			t.Errorf("update did not replace the columns: %+v", got)
		}
		if !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(clock) {
			t.Errorf("times after update: created %v updated %v; want %v and %v", got.CreatedAt, got.UpdatedAt, created, clock)
		}
		if err := db.DeleteWebhook(ctx, key); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteWebhook(ctx, key); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("second delete: got %v, want not found", err)
		}
		if _, err := db.UpdateWebhook(ctx, key, func(*store.Webhook) error { return nil }); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("update after delete: got %v, want not found", err)
		}
	})
}

func TestFindWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tenantA := "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80"
		tenantB := "1e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f81"
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		mk := func(i int, url, desc string, global bool, tenants ...string) {
			w := &store.Webhook{
				Dialect: "fusionauth", ExternalID: fmt.Sprintf("id-%d", i),
				URL: url, Description: desc, Global: global, TenantIDs: tenants,
				CreatedAt: base.Add(time.Duration(i) * time.Minute),
			}
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		mk(1, "https://b.example.com/Game", "Game server", false, tenantA)
		mk(2, "https://a.example.com/other", "100% done_", true)
		mk(3, "https://c.example.com/game", "other", false, tenantB)
		other := &store.Webhook{Dialect: "nursa", ExternalID: "n1", URL: "https://game.example.com"}
		if err := db.CreateWebhook(ctx, other); err != nil {
			t.Fatal(err)
		}

		ids := func(ws []store.Webhook) []string {
			var out []string
			for _, w := range ws {
				out = append(out, w.ExternalID)
			}
			return out
		}
		tests := []struct {
			name  string
			f     store.WebhookFilter
			want  []string
			total int64
		}{
			{"dialect only, creation order", store.WebhookFilter{Dialect: "fusionauth"}, []string{"id-1", "id-2", "id-3"}, 3},
			{"url case-insensitive", store.WebhookFilter{Dialect: "fusionauth", URLLike: "%GAME%"}, []string{"id-1", "id-3"}, 2},
			{"escaped percent", store.WebhookFilter{Dialect: "fusionauth", DescriptionLike: `%100\%%`}, []string{"id-2"}, 1},
			{"escaped underscore", store.WebhookFilter{Dialect: "fusionauth", DescriptionLike: `%e\_`}, []string{"id-2"}, 1},
			{"tenant plus global", store.WebhookFilter{Dialect: "fusionauth", TenantID: tenantA}, []string{"id-1", "id-2"}, 2},
			{"order by url", store.WebhookFilter{Dialect: "fusionauth", OrderBy: []store.WebhookOrder{{Field: store.OrderURL}}}, []string{"id-2", "id-1", "id-3"}, 3},
			{"order desc, paged", store.WebhookFilter{Dialect: "fusionauth", OrderBy: []store.WebhookOrder{{Field: store.OrderCreatedAt, Desc: true}}, Offset: 1, Limit: 1}, []string{"id-2"}, 3},
			{"every dialect", store.WebhookFilter{URLLike: "%game%"}, []string{"id-1", "id-3", "n1"}, 3},
		}
		for _, tt := range tests {
			ws, total, err := db.FindWebhooks(ctx, tt.f)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := ids(ws); !reflect.DeepEqual(got, tt.want) || total != tt.total {
				t.Errorf("%s: got %v (total %d), want %v (total %d)", tt.name, got, total, tt.want, tt.total)
			}
		}
		if _, _, err := db.FindWebhooks(ctx, store.WebhookFilter{OrderBy: []store.WebhookOrder{{Field: "url; DROP TABLE webhooks"}}}); store.ErrorCode(err) != store.EINVALID {
			t.Errorf("unknown order field: got %v, want invalid", err)
		}
	})
}

func TestCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &store.Credential{ID: "cred-1", Dialect: "fusionauth", SecretHash: store.HashSecret("s3cret"), Name: "ci"}
		if err := db.CreateCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := db.CredentialBySecret(ctx, "fusionauth", "s3cret")
		if err != nil || got.ID != "cred-1" || got.Name != "ci" {
			t.Fatalf("by secret: %+v, %v", got, err)
		}
		if _, err := db.CredentialBySecret(ctx, "nursa", "s3cret"); store.ErrorCode(err) != store.EUNAUTHORIZED {
			t.Errorf("another dialect's secret: got %v, want unauthorized", err)
		}
		if _, err := db.CredentialBySecret(ctx, "fusionauth", "wrong"); store.ErrorCode(err) != store.EUNAUTHORIZED {
			t.Errorf("wrong secret: got %v, want unauthorized", err)
		}
		dup := &store.Credential{ID: "cred-1", Dialect: "fusionauth", SecretHash: store.HashSecret("other")}
		if err := db.CreateCredential(ctx, dup); store.ErrorCode(err) != store.ECONFLICT {
			t.Errorf("duplicate id: got %v, want conflict", err)
		}
		list, err := db.Credentials(ctx, "fusionauth")
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v, %v", list, err)
		}
		if err := db.DeleteCredential(ctx, "cred-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CredentialBySecret(ctx, "fusionauth", "s3cret"); store.ErrorCode(err) != store.EUNAUTHORIZED {
			t.Errorf("revoked: got %v, want unauthorized", err)
		}
		if err := db.DeleteCredential(ctx, "cred-1"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("second revoke: got %v, want not found", err)
		}
	})
}

func TestInitSetting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Setting(ctx, "k"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Fatalf("unset: got %v, want not found", err)
		}
		if ok, err := db.InitSetting(ctx, "k", "first"); !ok || err != nil {
			t.Fatalf("first init: %v %v", ok, err)
		}
		if ok, err := db.InitSetting(ctx, "k", "second"); ok || err != nil {
			t.Fatalf("second init: %v %v", ok, err)
		}
		if v, err := db.Setting(ctx, "k"); v != "first" || err != nil {
			t.Fatalf("value: %q %v", v, err)
		}
	})
}

// A claim ends once: after the sweep took a delivery whose claim ran out, the late
// record of its owner's attempt keeps the attempt but leaves the delivery to the queue.
func TestClaims_SettleOnlyWhileClaimed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		past := time.Now().Add(-time.Second)
		future := time.Now().Add(time.Hour)
		mk := func(id string, until time.Time) store.Delivery {
			return store.Delivery{ID: id, EventID: "evt_claims", WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create", Status: store.DeliveryPending, ClaimedUntil: &until}
		}
		if err := storetest.CreateEvent(ctx, db, &store.Event{ID: "evt_claims", Type: "user.created", OccurredAt: time.Now()},
			[]store.Delivery{mk("msg_expired", past), mk("msg_held", future)}); err != nil {
			t.Fatal(err)
		}
		if n, err := db.ReleaseExpired(ctx, time.Now(), time.Now()); n != 1 || err != nil {
			t.Fatalf("release the expired claim: %d %v", n, err)
		}
		now := time.Now()
		ds := []*store.Delivery{
			{ID: "msg_expired", Status: store.DeliverySucceeded, Attempts: 1, LastStatus: 200, DeliveredAt: &now},
			{ID: "msg_held", Status: store.DeliverySucceeded, Attempts: 1, LastStatus: 204, DeliveredAt: &now},
		}
		as := []*store.Attempt{
			{ID: "att_1", DeliveryID: "msg_expired", Number: 1, URL: w.URL, StartedAt: now, ResponseStatus: 200},
			{ID: "att_2", DeliveryID: "msg_held", Number: 1, URL: w.URL, StartedAt: now, ResponseStatus: 204},
		}
		held, err := db.Settle(ctx, ds, as)
		if err != nil || !reflect.DeepEqual(held, []bool{false, true}) {
			t.Fatalf("settle: %v %v", held, err)
		}
		for id, want := range map[string]string{"msg_expired": store.DeliveryPending, "msg_held": store.DeliverySucceeded} {
			d, err := db.GetDelivery(ctx, id)
			if err != nil || d.Status != want || d.ClaimedUntil != nil {
				t.Errorf("%s: %+v %v, want %s and no claim", id, d, err, want)
			}
			if got, _ := db.Attempts(ctx, id); len(got) != 1 {
				t.Errorf("%s: %d attempts recorded, want 1", id, len(got))
			}
		}
	})
}

// Renewing extends live claims of their holder only: one that ran out (the sweep may take it), was
// ended or was claimed again by another replica is not the renewer's any more.
func TestClaims_RenewOnlyLiveClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := fullWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		past, soon := time.Now().Add(-time.Second), time.Now().Add(time.Minute)
		mk := func(id string, until *time.Time) store.Delivery {
			return store.Delivery{ID: id, EventID: "evt_renew", WebhookID: w.ID, Dialect: w.Dialect, EventName: "user.create", Status: store.DeliveryPending, ClaimedUntil: until, ClaimedBy: "rep_a"}
		}
		other := mk("msg_other", &soon) // claimed again by another replica since
		other.ClaimedBy = "rep_b"
		if err := storetest.CreateEvent(ctx, db, &store.Event{ID: "evt_renew", Type: "user.created", OccurredAt: time.Now()},
			[]store.Delivery{mk("msg_live", &soon), mk("msg_live2", &soon), mk("msg_expired", &past), mk("msg_queued", nil), other}); err != nil {
			t.Fatal(err)
		}
		before, _ := db.GetDelivery(ctx, "msg_live")
		until := db.Now().Add(time.Hour)
		renewed, err := db.RenewClaims(ctx, "rep_a", []string{"msg_live", "msg_expired", "msg_queued", "msg_live2", "msg_other"}, until)
		if err != nil || !reflect.DeepEqual(renewed, map[string]bool{"msg_live": true, "msg_live2": true}) {
			t.Fatalf("renewed %v %v, want the two live claims", renewed, err)
		}
		d, _ := db.GetDelivery(ctx, "msg_live")
		if d.ClaimedUntil == nil || !d.ClaimedUntil.Equal(until) || !d.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("renewed delivery: %+v, want claimed until %s and updated_at kept", d, until)
		}
		if d, _ := db.GetDelivery(ctx, "msg_expired"); d.ClaimedUntil == nil || !d.ClaimedUntil.Before(time.Now()) {
			t.Errorf("an expired claim was renewed: %+v", d)
		}
		if d, _ := db.GetDelivery(ctx, "msg_queued"); d.ClaimedUntil != nil {
			t.Errorf("a queued delivery was claimed: %+v", d)
		}
		if renewed, err := db.RenewClaims(ctx, "rep_a", []string{"msg_live", "msg_live2"}, until.Add(time.Minute)); err != nil || len(renewed) != 2 {
			t.Errorf("renewing all: %v %v", renewed, err)
		}
	})
}
