package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// exec runs one raw statement, its placeholders written "?" on either backend.
func exec(t *testing.T, db *store.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.SQL().Exec(placeholders(db, query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func placeholders(db *store.DB, query string) string {
	if db.Backend() != store.BackendPostgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// rawSecrets reads a webhook's secret columns as stored, bypassing the store.
func rawSecrets(t *testing.T, db *store.DB, id string) string {
	t.Helper()
	var headers, password, secrets, signing string
	row := db.SQL().QueryRow(placeholders(db, "SELECT headers, basic_auth_password, secrets, signing_secrets FROM webhooks WHERE id = ?"), id)
	if err := row.Scan(&headers, &password, &secrets, &signing); err != nil {
		t.Fatal(err)
	}
	return strings.Join([]string{headers, password, secrets, signing}, "\n")
}

const (
	plainHeader   = "CUSTOMHDR_v4lue"
	plainPassword = "BASICPASS_s3cret"
	plainSecret   = "NURSA_secret_value"
	plainWhsec    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

func secretWebhook() *store.Webhook {
	w := fullWebhook()
	w.Headers = map[string]string{"X-Api-Key": plainHeader}
	w.BasicAuthPassword = plainPassword
	w.Secrets = []string{plainSecret}
	w.SigningSecrets = []store.SigningSecret{{Secret: plainWhsec}}
	return w
}

// What the database keeps of every subscriber secret is sealed, through create, update and
// rotation; the store hands them back in clear.
func TestSeal_RawColumnsHoldNoPlaintext(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := secretWebhook()
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		check := func(when string, plain ...string) {
			t.Helper()
			raw := rawSecrets(t, db, w.ID)
			for _, p := range plain {
				if strings.Contains(raw, p) {
					t.Errorf("%s: the raw columns hold %q in clear:\n%s", when, p, raw)
				}
			}
			if !strings.Contains(raw, "$phs1$") {
				t.Errorf("%s: no sealed value in the raw columns:\n%s", when, raw)
			}
		}
		check("after create", plainHeader, plainPassword, plainSecret, plainWhsec)
		key := store.WebhookKey{Dialect: w.Dialect, ExternalID: w.ExternalID}
		got, err := db.GetWebhook(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if got.Headers["X-Api-Key"] != plainHeader || got.BasicAuthPassword != plainPassword || got.Secrets[0] != plainSecret || got.SigningSecrets[0].Secret != plainWhsec {
			t.Errorf("read back: %+v", got)
		}
		if _, err := db.UpdateWebhook(ctx, key, func(w *store.Webhook) error {
			w.Headers["X-Other"] = "OTHERHDR_value"
			w.BasicAuthPassword = "NEWPASS_value"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		check("after update", plainHeader, "OTHERHDR_value", "NEWPASS_value", plainSecret, plainWhsec)
		rotated, err := db.RotateSigningSecret(ctx, w.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		check("after rotation", rotated.SigningSecrets[0].Secret, plainWhsec, plainHeader)
		for _, list := range [][]store.Webhook{mustFind(t, db), mustMatch(t, db)} {
			if len(list) != 1 || list[0].Headers["X-Other"] != "OTHERHDR_value" || list[0].SigningSecrets[1].Secret != plainWhsec {
				t.Errorf("listed webhooks are not opened: %+v", list)
			}
		}
	})
}

func mustFind(t *testing.T, db *store.DB) []store.Webhook {
	ws, _, err := db.FindWebhooks(context.Background(), store.WebhookFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func mustMatch(t *testing.T, db *store.DB) []store.Webhook {
	ws, err := db.MatchCandidates(context.Background(), []string{"fusionauth"}, "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80")
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// A webhook stored in clear before sealing existed is sealed when the store opens, keeps
// its secrets, and its recorded attempts lose the custom header values they kept; a
// second start changes nothing.
func TestSeal_LegacyRowsSealedAtOpen(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			db := storetest.OpenDSN(t, dsn)
			w := secretWebhook()
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			// What an older version wrote: every secret in clear, and an attempt that
			// recorded the custom header's value.
			exec(t, db, `UPDATE webhooks SET headers = ?, basic_auth_password = ?, secrets = ?, signing_secrets = ? WHERE id = ?`,
				`{"X-Api-Key":"`+plainHeader+`"}`, plainPassword, `["`+plainSecret+`"]`, `[{"secret":"`+plainWhsec+`"}]`, w.ID)
			now := time.Now().UTC()
			exec(t, db, `INSERT INTO deliveries (id, event_id, webhook_id, dialect, event_name, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				"dlv_legacy", "evt_legacy", w.ID, w.Dialect, "user.create", store.DeliverySucceeded, now, now)
			exec(t, db, `INSERT INTO attempts (id, delivery_id, number, url, started_at, duration_ms, request_headers) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				"att_legacy", "dlv_legacy", 1, w.URL, now, 3, `{"X-Api-Key":"`+plainHeader+`","Content-Type":"application/json"}`)
			db.Close()

			db = storetest.OpenDSN(t, dsn)
			raw := rawSecrets(t, db, w.ID)
			for _, p := range []string{plainHeader, plainPassword, plainSecret, plainWhsec} {
				if strings.Contains(raw, p) {
					t.Errorf("after the start, the raw columns still hold %q:\n%s", p, raw)
				}
			}
			got, err := db.WebhookByID(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Headers["X-Api-Key"] != plainHeader || got.BasicAuthPassword != plainPassword || got.Secrets[0] != plainSecret || got.SigningSecrets[0].Secret != plainWhsec {
				t.Errorf("the migrated webhook lost its secrets: %+v", got)
			}
			as, err := db.Attempts(ctx, "dlv_legacy")
			if err != nil || len(as) != 1 {
				t.Fatalf("attempts: %v %v", as, err)
			}
			if as[0].RequestHeaders["X-Api-Key"] != store.RedactedValue || as[0].RequestHeaders["Content-Type"] != "application/json" {
				t.Errorf("legacy attempt headers: %v", as[0].RequestHeaders)
			}
			db.Close()

			db = storetest.OpenDSN(t, dsn)
			again, err := db.WebhookByID(ctx, w.ID)
			if err != nil || again.Version != got.Version || again.SigningSecrets[0].Secret != plainWhsec {
				t.Errorf("a second start changed the webhook: version %d -> %d (%v)", got.Version, again.Version, err)
			}
		})
	}
}

// A store opened with another key than its secrets were sealed with refuses to start, and
// says why.
func TestSeal_WrongKeyFailsClearly(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			db := storetest.OpenDSN(t, dsn)
			if err := db.CreateWebhook(ctx, secretWebhook()); err != nil {
				t.Fatal(err)
			}
			db.Close()
			other, err := store.NewSealer([]byte("another key, 32 bytes long......"))
			if err != nil {
				t.Fatal(err)
			}
			db2, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db2.Close()
			err = db2.SealSecrets(ctx, other)
			if !errors.Is(err, store.ErrWrongSealingKey) || !strings.Contains(store.ErrorMessage(err), "POLYHOOK_SECRET_KEY") {
				t.Fatalf("wrong key: got %v (%q)", err, store.ErrorMessage(err))
			}
		})
	}
}

// A sealed value is bound to its webhook: copied into another row, it does not open.
func TestSeal_BoundToItsWebhook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := secretWebhook(), fullWebhook()
		b.ExternalID = "another"
		for _, w := range []*store.Webhook{a, b} {
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		var password string
		if err := db.SQL().QueryRow(placeholders(db, "SELECT basic_auth_password FROM webhooks WHERE id = ?"), a.ID).Scan(&password); err != nil {
			t.Fatal(err)
		}
		exec(t, db, "UPDATE webhooks SET basic_auth_password = ? WHERE id = ?", password, b.ID)
		if _, err := db.WebhookByID(ctx, b.ID); store.ErrorCode(err) != store.EINTERNAL {
			t.Errorf("a sealed value moved to another webhook opened: %v", err)
		}
	})
}
