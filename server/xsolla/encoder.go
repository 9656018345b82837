package xsolla

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
)

// Encoder renders deliveries as Xsolla Login documents them:
// {"event_type", "event_time" (ISO 8601), "project_id", "data"} as JSON. Xsolla documents
// no signature for Login webhooks; the Standard Webhooks headers carry one.
type Encoder struct{}

var _ delivery.Encoder = Encoder{}

// Dialect is "xsolla".
func (Encoder) Dialect() string { return Name }

// Known reports whether native is an Xsolla Login event type.
func (Encoder) Known(native string) bool { return slices.Contains(eventTypes, native) }

// Subscribes reports whether the webhook was added for the event type.
func (Encoder) Subscribes(w *store.Webhook, native string) bool {
	return slices.Contains(w.Events, native)
}

// InScope is Xsolla's scope rule: a webhook gets the events of its Login project only.
func (Encoder) InScope(w *store.Webhook, tenant string) bool {
	return tenant != "" && w.Owner == tenant
}

// Encode writes the envelope with the event's data verbatim.
func (Encoder) Encode(m *delivery.Message) ([]byte, http.Header, error) {
	data := m.Data
	if len(data) == 0 {
		data = []byte("{}")
	}
	head, err := json.Marshal(struct {
		EventType string `json:"event_type"`
		EventTime string `json:"event_time"`
		ProjectID string `json:"project_id"`
	}{m.EventName, m.OccurredAt.UTC().Format(time.RFC3339), m.Webhook.Owner})
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	b.Write(head[:len(head)-1])
	b.WriteString(`,"data":`)
	b.Write(data)
	b.WriteString(`}`)
	return b.Bytes(), http.Header{"Content-Type": {"application/json"}}, nil
}
