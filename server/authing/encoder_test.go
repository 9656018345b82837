package authing_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server/authing"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
)

// TestEncoderGolden pins Authing's outbound bodies, JSON and form; update with
// POLYHOOK_UPDATE_GOLDEN=1.
func TestEncoderGolden(t *testing.T) {
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for _, ct := range []struct{ contentType, file string }{
		{"application/json", "testdata/delivery.golden.json"},
		{"application/x-www-form-urlencoded", "testdata/delivery.golden.form"},
	} {
		body, h, err := authing.Encoder{}.Encode(&delivery.Message{
			DeliveryID: "msg_1", EventID: "evt_1", EventName: "user:email-verified", OccurredAt: at, At: at,
			Data:    json.RawMessage(`{"userId":"u1", "email":"ada@example.com"}`),
			Webhook: &store.Webhook{URL: "https://example.com", Owner: "62a0b0c0d0e0f00011223344", ContentType: ct.contentType, Secrets: []string{"s3cret"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		servertest.Golden(t, ct.file, body)
		if h.Get("Content-Type") != ct.contentType || h.Get("X-Authing-Webhook-Secret") != "s3cret" || h.Get("X-Authing-Userpool-Id") != "62a0b0c0d0e0f00011223344" || h.Get("User-Agent") != "authing-webhook@2.0" {
			t.Errorf("headers %v", h)
		}
	}
}
