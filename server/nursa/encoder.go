package nursa

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
)

// Encoder renders deliveries as Nursa sends them: {"data": {...}, "eventType": "..."} as
// JSON, with Nursa-Signature: t=<unix seconds>, v1=<hex HMAC-SHA256(secret, t + "." + body)>
// and one v1 per secret of the webhook (two during a rotation).
type Encoder struct{}

var _ delivery.Encoder = Encoder{}

// Dialect is "nursa".
func (Encoder) Dialect() string { return Name }

// Known reports whether native is a Nursa user-webhook event ("all" is a subscription,
// not an event).
func (Encoder) Known(native string) bool { return native != allEvents && isEvent(native) }

// Subscribes reports whether the webhook lists the event or "all".
func (Encoder) Subscribes(w *store.Webhook, native string) bool {
	return slices.Contains(w.Events, native) || slices.Contains(w.Events, allEvents)
}

// allEvents subscribes a Nursa webhook to every event.
const allEvents = "all"

// WildcardEvents says that "all" subscribes a webhook to every event (delivery.Wildcards).
func (Encoder) WildcardEvents() []string { return []string{allEvents} }

// InScope is Nursa's scope rule: a user webhook gets the events of the client that made
// it only.
func (Encoder) InScope(w *store.Webhook, tenant string) bool {
	return tenant != "" && w.Owner == tenant
}

// Encode writes the envelope with the event's data verbatim.
func (Encoder) Encode(m *delivery.Message) ([]byte, http.Header, error) {
	name, err := json.Marshal(m.EventName)
	if err != nil {
		return nil, nil, err
	}
	data := m.Data
	if len(data) == 0 {
		data = []byte("{}")
	}
	var b bytes.Buffer
	b.WriteString(`{"data":`)
	b.Write(data)
	b.WriteString(`,"eventType":`)
	b.Write(name)
	b.WriteString(`}`)
	body := b.Bytes()
	h := http.Header{"Content-Type": {"application/json"}}
	h.Set("Nursa-Signature", Signature(m.At.Unix(), body, m.Webhook.Secrets))
	return body, h, nil
}

// Signature is the Nursa-Signature header value for body sent at unix time t.
func Signature(t int64, body []byte, secrets []string) string {
	ts := strconv.FormatInt(t, 10)
	parts := []string{"t=" + ts}
	for _, s := range secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(ts + "."))
		m.Write(body)
		parts = append(parts, "v1="+hex.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(parts, ", ")
}
