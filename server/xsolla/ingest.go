package xsolla

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

var _ server.Ingester = (*Dialect)(nil)

// Verify checks Xsolla's documented webhook signature, Authorization: Signature
// <hex sha1(body + secret)>, against each of the source's secrets. It is the protocol of
// Xsolla's payment and Store webhooks; Xsolla documents no signing of Login's own.
func (d *Dialect) Verify(src *store.Source, header http.Header, body []byte, _ time.Time) error {
	sig, ok := strings.CutPrefix(header.Get("Authorization"), "Signature ")
	if !ok {
		return store.Errorf(store.EUNAUTHORIZED, "Authorization: Signature <sha1(body + secret)> is missing.")
	}
	got, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(sig)))
	if err != nil || len(got) != sha1.Size {
		return store.Errorf(store.EUNAUTHORIZED, "The signature is not a hex SHA-1.")
	}
	match := 0
	for _, s := range src.Secrets {
		want := Signature(body, s)
		match |= subtle.ConstantTimeCompare(got, want)
	}
	if match != 1 {
		return store.Errorf(store.EUNAUTHORIZED, "The signature does not match the source's secrets.")
	}
	return nil
}

// Signature is Xsolla's webhook signature of body with secret: sha1(body + secret).
func Signature(body []byte, secret string) []byte {
	h := sha1.New()
	h.Write(body)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// Decode reads Xsolla Login's {"event_type", "event_time", "project_id", "data"}: the
// project is the tenant. The format carries no event id.
func (d *Dialect) Decode(_ http.Header, body []byte) (*server.Inbound, error) {
	var env struct {
		EventType string          `json:"event_type"`
		EventTime string          `json:"event_time"`
		ProjectID string          `json:"project_id"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.EventType == "" {
		return nil, store.Errorf(store.EINVALID, "The body must be Xsolla's {\"event_type\", \"event_time\", \"project_id\", \"data\"}.")
	}
	data := bytes.TrimSpace(env.Data)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	if data[0] != '{' {
		return nil, store.Errorf(store.EINVALID, "data must be a JSON object.")
	}
	in := &server.Inbound{Name: env.EventType, Tenant: env.ProjectID, Data: data}
	if env.EventTime != "" {
		t, err := time.Parse(time.RFC3339Nano, env.EventTime)
		if err != nil {
			return nil, store.Errorf(store.EINVALID, "event_time must be ISO 8601 (RFC 3339).")
		}
		in.OccurredAt = t
	}
	return in, nil
}

// CheckPublicKeys refuses every key: Xsolla signs with a shared secret.
func (d *Dialect) CheckPublicKeys(string) error {
	return store.Errorf(store.EINVALID, "An xsolla source takes no publicKeys: Xsolla signs with a shared secret.")
}
