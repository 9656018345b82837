package xsolla_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/server/xsolla"
	"github.com/polyhook/polyhook/store"
)

// TestEncoderGolden pins Xsolla's outbound body; update with POLYHOOK_UPDATE_GOLDEN=1.
func TestEncoderGolden(t *testing.T) {
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	body, h, err := xsolla.Encoder{}.Encode(&delivery.Message{
		DeliveryID: "msg_1", EventID: "evt_1", EventName: "registration", OccurredAt: at, At: at,
		Data:    json.RawMessage(`{"user":{"id":"u1","email":"ada@example.com"}}`),
		Webhook: &store.Webhook{Owner: projectA, URL: "https://example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	servertest.Golden(t, "testdata/delivery.golden.json", body)
	if h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", h)
	}
}
