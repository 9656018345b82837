package authing

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
)

// Encoder renders deliveries as Authing sends them: {"eventName", "data"} as JSON, or as
// a form with eventName and data (data as a JSON string) when the webhook's contentType
// is application/x-www-form-urlencoded. Authing signs nothing: the webhook's secret goes
// in x-authing-webhook-secret (and x-authing-token, its older name).
type Encoder struct{}

var _ delivery.Encoder = Encoder{}

// Dialect is "authing".
func (Encoder) Dialect() string { return Name }

// Known reports whether native is an Authing webhook event.
func (Encoder) Known(native string) bool { return knownEvents[native] }

// Subscribes reports whether the webhook lists the event.
func (Encoder) Subscribes(w *store.Webhook, native string) bool {
	return slices.Contains(w.Events, native)
}

// InScope is Authing's scope rule: a webhook gets the events of its user pool only.
func (Encoder) InScope(w *store.Webhook, tenant string) bool {
	return tenant != "" && w.Owner == tenant
}

// Encode writes the body and Authing's headers.
func (Encoder) Encode(m *delivery.Message) ([]byte, http.Header, error) {
	data := m.Data
	if len(data) == 0 {
		data = []byte("{}")
	}
	h := http.Header{}
	h.Set("User-Agent", "authing-webhook@2.0")
	h.Set("Accept", "application/json, text/plain, */*")
	h.Set("X-Authing-Userpool-Id", m.Webhook.Owner)
	if len(m.Webhook.Secrets) > 0 {
		h.Set("X-Authing-Webhook-Secret", m.Webhook.Secrets[0])
		h.Set("X-Authing-Token", m.Webhook.Secrets[0])
	}
	if m.Webhook.ContentType == "application/x-www-form-urlencoded" {
		var compact bytes.Buffer
		if err := json.Compact(&compact, data); err != nil {
			return nil, nil, err
		}
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		return []byte(url.Values{"eventName": {m.EventName}, "data": {compact.String()}}.Encode()), h, nil
	}
	name, err := json.Marshal(m.EventName)
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"eventName":`)
	b.Write(name)
	b.WriteString(`,"data":`)
	b.Write(data)
	b.WriteString(`}`)
	h.Set("Content-Type", "application/json")
	return b.Bytes(), h, nil
}
