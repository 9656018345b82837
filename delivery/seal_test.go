package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A webhook written in clear by an older version is sealed at the next start and still
// delivers: its custom header and basic auth arrive and its signature verifies with the
// secret it had. The attempt records only the custom header's name.
func TestDeliver_LegacyPlaintextWebhookAfterSealing(t *testing.T) {
	t.Parallel()
	const (
		apiKey   = "CUSTOMHDR_v4lue"
		password = "BASICPASS_s3cret"
		whsec    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	)
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			old := storetest.OpenDSN(t, dsn)
			rcv := newReceiver(t, nil)
			w := &store.Webhook{
				Dialect: "fusionauth", ExternalID: "legacy", URL: rcv.URL + "/hook", Enabled: true, Global: true,
				Events: []string{"user.create"}, BasicAuthUser: "u",
			}
			if err := old.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			q := `UPDATE webhooks SET headers = ?, basic_auth_password = ?, signing_secrets = ? WHERE id = ?`
			if old.Backend() == store.BackendPostgres {
				q = `UPDATE webhooks SET headers = $1, basic_auth_password = $2, signing_secrets = $3 WHERE id = $4`
			}
			if _, err := old.SQL().Exec(q, `{"X-Api-Key":"`+apiKey+`"}`, password, `[{"secret":"`+whsec+`"}]`, w.ID); err != nil {
				t.Fatal(err)
			}
			old.Close()

			db := storetest.OpenDSN(t, dsn)
			h := start(t, db, delivery.Config{})
			ev := h.publish(t, delivery.PublishInput{Type: "user.created", Data: json.RawMessage(`{"user":{"id":"u1"}}`)})
			got := rcv.wait(t, 1, 10*time.Second)[0]
			if got.header.Get("X-Api-Key") != apiKey {
				t.Errorf("custom header: %q", got.header.Get("X-Api-Key"))
			}
			if u, p, ok := (&http.Request{Header: got.header}).BasicAuth(); !ok || u != "u" || p != password {
				t.Errorf("basic auth: %q %q %v", u, p, ok)
			}
			verifier, err := standardwebhooks.NewWebhook(whsec)
			if err != nil {
				t.Fatal(err)
			}
			if err := verifier.Verify(got.body, got.header); err != nil {
				t.Errorf("signature with the legacy secret: %v", err)
			}
			ds := h.settled(t, ev.ID, 5*time.Second)
			as, err := db.Attempts(ctx, ds[0].ID)
			if err != nil || len(as) != 1 {
				t.Fatalf("attempts: %v %v", as, err)
			}
			recorded := fmt.Sprint(as[0].RequestHeaders)
			if as[0].RequestHeaders["X-Api-Key"] != store.RedactedValue || strings.Contains(recorded, apiKey) || strings.Contains(recorded, password) {
				t.Errorf("the attempt kept a secret header value: %s", recorded)
			}
		})
	}
}
