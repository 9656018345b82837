package nursa_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
)

// TestEncoderGolden pins Nursa's outbound body and signature; update with
// POLYHOOK_UPDATE_GOLDEN=1.
func TestEncoderGolden(t *testing.T) {
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	body, h, err := nursa.Encoder{}.Encode(&delivery.Message{
		DeliveryID: "msg_1", EventID: "evt_1", EventName: "facility.user-connection.accepted", OccurredAt: at, At: at,
		Data:    json.RawMessage(`{"facilityId":"NUR-123456","userId":"lcFQMy1n0decDeZljQG2wUNZBru7"}`),
		Webhook: &store.Webhook{URL: "https://example.com", Secrets: []string{"sDV1aKqitCLClI12m7UPFbAAvZfZquJw", "mryefgHPBVHJwux0o3BYW7hPM0BZlcCa"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	servertest.Golden(t, "testdata/delivery.golden.json", body)
	servertest.Golden(t, "testdata/delivery.golden.signature", []byte(h.Get("Nursa-Signature")))
}
