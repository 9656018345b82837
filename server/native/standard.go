package native

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
)

// Dialect is the name of native subscriptions, made at POST /v1/webhooks: they subscribe
// to canonical event names and are delivered in the Standard Webhooks format.
const Dialect = "standard"

// Encoder renders deliveries to native subscriptions as the Standard Webhooks
// specification describes them: a JSON body {"type", "timestamp", "data"} with the event's
// canonical name, the time it occurred (RFC 3339) and its data verbatim. The signature is
// the engine's: the webhook-id, webhook-timestamp and webhook-signature headers every
// delivery carries.
type Encoder struct{}

var _ delivery.CanonicalEncoder = Encoder{}

// Dialect is "standard".
func (Encoder) Dialect() string { return Dialect }

// CanonicalNames is true: the dialect's event names are the canonical ones.
func (Encoder) CanonicalNames() bool { return true }

// Events is empty: every canonical event reaches the dialect under its own name.
func (Encoder) Events() map[string][]string { return nil }

// SecretHeaders is empty: the only signature is the engine's webhook-signature.
func (Encoder) SecretHeaders() []string { return nil }

// Known reports whether name is a canonical event name.
func (Encoder) Known(name string) bool { return delivery.IsCanonical(name) }

// Subscribes reports whether the webhook lists the event.
func (Encoder) Subscribes(w *store.Webhook, name string) bool { return slices.Contains(w.Events, name) }

// InScope is the native subscriptions' scope rule: one made without a tenant gets every
// event, one made for a tenant that tenant's only.
func (Encoder) InScope(w *store.Webhook, tenant string) bool {
	return w.Global || (tenant != "" && w.Owner == tenant)
}

// Encode writes {"type", "timestamp", "data"}.
func (Encoder) Encode(m *delivery.Message) ([]byte, http.Header, error) {
	data := m.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	typ, err := json.Marshal(m.EventName)
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"type":`)
	b.Write(typ)
	b.WriteString(`,"timestamp":"` + m.OccurredAt.UTC().Format(time.RFC3339Nano) + `","data":`)
	b.Write(data)
	b.WriteString(`}`)
	body := b.Bytes()
	return body, http.Header{"Content-Type": {"application/json"}}, nil
}
