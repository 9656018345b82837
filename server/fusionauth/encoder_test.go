package fusionauth_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// TestEncoderGolden pins FusionAuth's outbound body; update with POLYHOOK_UPDATE_GOLDEN=1.
func TestEncoderGolden(t *testing.T) {
	db := storetest.Open(t)
	keys, _ := server.NewKeys("fusionauth-golden-master-key")
	enc := fusionauth.New(server.Deps{DB: db, Keys: keys}).Encoder()
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	body, h, err := enc.Encode(&delivery.Message{
		DeliveryID: "msg_1", EventID: "evt_1", EventName: "user.create", Tenant: "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80",
		OccurredAt: at, At: at, Data: json.RawMessage(`{"user":{"id":"u1","email":"ada@example.com"},"type":"ignored","big":12345678901234567890}`),
		Webhook: &store.Webhook{URL: "https://example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	servertest.Golden(t, "testdata/delivery.golden.json", body)
	if h.Get("Content-Type") != "application/json" || h.Get("X-FusionAuth-Signature-JWT") != "" {
		t.Errorf("headers %v", h)
	}
}
