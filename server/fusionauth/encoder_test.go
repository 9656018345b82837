package fusionauth_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// baseEvent is the part of FusionAuth's event a receiver built on FusionAuth's own types
// parses (BaseEvent: id and tenantId are java.util.UUID, createInstant epoch millis).
type baseEvent struct {
	Event struct {
		ID            uuid.UUID  `json:"id"`
		TenantID      *uuid.UUID `json:"tenantId"`
		CreateInstant int64      `json:"createInstant"`
		Type          string     `json:"type"`
	} `json:"event"`
}

// TestEncoderEventIDs: event.id is a UUID, the same for every webhook and every attempt of
// one event; event.tenantId is the tenant when it is a UUID and absent otherwise.
func TestEncoderEventIDs(t *testing.T) {
	db := storetest.Open(t)
	keys, _ := server.NewKeys("fusionauth-ids-master-key")
	enc := fusionauth.New(server.Deps{DB: db, Keys: keys}).Encoder()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	encode := func(deliveryID, eventID, tenant, url string) (baseEvent, map[string]any) {
		t.Helper()
		body, _, err := enc.Encode(&delivery.Message{
			DeliveryID: deliveryID, EventID: eventID, EventName: "user.create", Tenant: tenant,
			OccurredAt: at, At: at, Data: json.RawMessage(`{"user":{"id":"u1"}}`),
			Webhook: &store.Webhook{URL: url},
		})
		if err != nil {
			t.Fatal(err)
		}
		var ev baseEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("FusionAuth's event shape does not parse %s: %v", body, err)
		}
		var raw map[string]map[string]any
		_ = json.Unmarshal(body, &raw)
		return ev, raw["event"]
	}

	a, _ := encode("dlv_a", "evt_0123456789abcdef", "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80", "https://a.example")
	b, _ := encode("dlv_b", "evt_0123456789abcdef", "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80", "https://b.example")
	retry, _ := encode("dlv_a", "evt_0123456789abcdef", "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80", "https://a.example")
	if a.Event.ID == uuid.Nil || a.Event.ID != b.Event.ID || a.Event.ID != retry.Event.ID {
		t.Errorf("event.id differs between webhooks or attempts: %s %s %s", a.Event.ID, b.Event.ID, retry.Event.ID)
	}
	if a.Event.ID.String() != fusionauth.EventID("evt_0123456789abcdef") {
		t.Errorf("event.id %s, want EventID's %s", a.Event.ID, fusionauth.EventID("evt_0123456789abcdef"))
	}
	if a.Event.TenantID == nil || a.Event.TenantID.String() != "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80" {
		t.Errorf("event.tenantId = %v", a.Event.TenantID)
	}
	if other, _ := encode("dlv_c", "evt_fedcba9876543210", "", "https://a.example"); other.Event.ID == a.Event.ID {
		t.Errorf("two events share event.id %s", a.Event.ID)
	}

	// A native id that is a UUID is FusionAuth's id as it is.
	own, _ := encode("dlv_d", "0b7e3c1a-2f4d-4e6a-8c9b-1d2e3f4a5b6c", "", "https://a.example")
	if own.Event.ID.String() != "0b7e3c1a-2f4d-4e6a-8c9b-1d2e3f4a5b6c" {
		t.Errorf("UUID native id became %s", own.Event.ID)
	}

	// A tenant that is not a UUID (an Xsolla-style name, say) is left out, not sent as a
	// string FusionAuth's types cannot parse.
	for _, tenant := range []string{"", "acme", "project-1"} {
		ev, raw := encode("dlv_e", "evt_1", tenant, "https://a.example")
		if _, ok := raw["tenantId"]; ok || ev.Event.TenantID != nil {
			t.Errorf("tenant %q: tenantId sent: %v", tenant, raw)
		}
	}
}

// TestEncoderEventData: the event object holds the data's members as they are and the
// standard fields, which win over data keys of the same name; data that is absent or null
// sends the standard fields alone, and data that is not an object is an encode error.
func TestEncoderEventData(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	keys, _ := server.NewKeys("fusionauth-data-master-key")
	enc := fusionauth.New(server.Deps{DB: db, Keys: keys}).Encoder()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	encode := func(data string) (string, map[string]any, error) {
		t.Helper()
		m := &delivery.Message{DeliveryID: "dlv_a", EventID: "evt_1", EventName: "user.create", OccurredAt: at, At: at,
			Webhook: &store.Webhook{URL: "https://a.example"}}
		if data != "" {
			m.Data = json.RawMessage(data)
		}
		body, _, err := enc.Encode(m)
		if err != nil {
			return "", nil, err
		}
		var raw map[string]map[string]any
		if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 1 {
			t.Fatalf("%s: not an event object: %s (%v)", data, body, err)
		}
		return string(body), raw["event"], nil
	}
	want := map[string]any{"type": "user.create", "id": fusionauth.EventID("evt_1"), "createInstant": float64(at.UnixMilli())}

	const members = `"user":{"id":"u1","email":"a\u003cb@example.com","n":12345678901234567890},"reason":"x"`
	body, ev, err := encode(`{` + members + `}`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, members) {
		t.Errorf("the data's members are not sent as they are: %s", body)
	}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("%s = %v, want %v", k, ev[k], v)
		}
	}
	if len(ev) != len(want)+2 {
		t.Errorf("event has %d fields: %v", len(ev), ev)
	}

	for _, data := range []string{`{"type":"spoofed","id":"x","user":{"id":"u1"}}`, `{"user":{"id":"u1"}, "\u0074ype" :"spoofed","id":"x"}`} {
		body, ev, err := encode(data)
		if err != nil {
			t.Fatal(err)
		}
		if ev["type"] != "user.create" || ev["id"] != want["id"] || ev["user"] == nil || len(ev) != 4 || strings.Contains(body, "spoofed") {
			t.Errorf("data %s, with a key named like a standard field: %s", data, body)
		}
	}
	for _, data := range []string{"", "null", "{}", " {} "} {
		_, ev, err := encode(data)
		if err != nil || len(ev) != len(want) {
			t.Errorf("data %q: %v, %v", data, ev, err)
		}
	}
	for _, data := range []string{`[1,2]`, `"x"`, `{"a":`} {
		if body, _, err := encode(data); err == nil {
			t.Errorf("data %q encoded: %s", data, body)
		}
	}
}

// TestEncoderHostileData: data built to make the encoder work (deep nesting, long runs of
// escapes, a key that only spells a standard one once unescaped inside a value) costs
// no more allocations than a small object, but for the scanner's depth, and its members
// are sent as they are.
// Not parallel: AllocsPerRun counts the whole process's allocations.
func TestEncoderHostileData(t *testing.T) {
	keys, _ := server.NewKeys("fusionauth-hostile-master-key")
	enc := fusionauth.New(server.Deps{DB: storetest.Open(t), Keys: keys}).Encoder()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	message := func(data string) *delivery.Message {
		return &delivery.Message{DeliveryID: "dlv_a", EventID: "evt_1", EventName: "user.create", OccurredAt: at, At: at,
			Webhook: &store.Webhook{URL: "https://a.example"}, Data: json.RawMessage(data)}
	}
	hostile := `{"deep":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) +
		`,"escapes":"` + strings.Repeat(`\\\"`, 100000) + `","nested":{"type":"x","\u0074ype":"y"}}`
	allocs := func(data string) float64 {
		m := message(data)
		return testing.AllocsPerRun(5, func() {
			if _, _, err := enc.Encode(m); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The JSON scanner's stack grows by doubling with the depth: a dozen allocations for
	// 5,000 levels where its pool is empty (always, under the race detector), none else.
	small, big := allocs(`{"user":{"id":"u1"}}`), allocs(hostile)
	if big > small+16 {
		t.Errorf("hostile data: %.0f allocations an encoding, a small object %.0f", big, small)
	}
	body, _, err := enc.Encode(message(hostile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), hostile[1:len(hostile)-1]) {
		t.Error("the hostile data's members are not sent as they are")
	}
}

// BenchmarkEncoder encodes the bench's event (a small data object) and one with a user
// object like FusionAuth's, as every attempt does.
func BenchmarkEncoder(b *testing.B) {
	keys, _ := server.NewKeys("fusionauth-bench-master-key")
	enc := fusionauth.New(server.Deps{DB: storetest.Open(b), Keys: keys}).Encoder()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct{ name, data string }{
		{"Small", `{"sentAt":1796629553589028559,"i":92452}`},
		{"User", `{"user":{"id":"7d3f0b6e-1c2a-4b5d-8e9f-0a1b2c3d4e5f","email":"ada@example.com","active":true,` +
			`"registrations":[{"applicationId":"3c219e58-ed0e-4b18-ad48-f4f92793ae32","roles":["admin","user"]}],"data":{"plan":"pro"}}}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := &delivery.Message{DeliveryID: "dlv_a", EventID: "evt_-0cZxrNRhCljmJpOtG-JG", EventName: "user.create",
				Tenant: "7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80", OccurredAt: at, At: at, Data: json.RawMessage(c.data),
				Webhook: &store.Webhook{URL: "https://a.example"}}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := enc.Encode(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
