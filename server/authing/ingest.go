package authing

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

var _ server.Ingester = (*Dialect)(nil)

// Verify checks the secret Authing sends in clear, in x-authing-webhook-secret or its
// older name x-authing-token, against each of the source's secrets in constant time.
// Authing signs nothing: whoever knows the secret can post.
func (d *Dialect) Verify(src *store.Source, header http.Header, _ []byte, _ time.Time) error {
	got := header.Get("X-Authing-Webhook-Secret")
	if got == "" {
		got = header.Get("X-Authing-Token")
	}
	if got == "" {
		return store.Errorf(store.EUNAUTHORIZED, "x-authing-webhook-secret is missing.")
	}
	ok := 0
	for _, s := range src.Secrets {
		ok |= subtle.ConstantTimeCompare([]byte(got), []byte(s))
	}
	if ok != 1 {
		return store.Errorf(store.EUNAUTHORIZED, "x-authing-webhook-secret is not the source's secret.")
	}
	return nil
}

// Decode reads Authing's {"eventName", "data"}, as JSON or as a form whose data is a
// JSON string (the webhook's contentType); the user pool is x-authing-userpool-id. The
// format carries no event id or time.
func (d *Dialect) Decode(header http.Header, body []byte) (*server.Inbound, error) {
	var (
		name string
		data []byte
	)
	if ct := header.Get("Content-Type"); strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, store.Errorf(store.EINVALID, "The body is not a form.")
		}
		name, data = form.Get("eventName"), []byte(form.Get("data"))
	} else {
		var env struct {
			EventName string          `json:"eventName"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, store.Errorf(store.EINVALID, "The body must be Authing's {\"eventName\", \"data\"}.")
		}
		name, data = env.EventName, env.Data
	}
	if name == "" {
		return nil, store.Errorf(store.EINVALID, "The body names no eventName.")
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	if data[0] != '{' || !json.Valid(data) {
		return nil, store.Errorf(store.EINVALID, "data must be a JSON object.")
	}
	return &server.Inbound{Name: name, Data: data, Tenant: header.Get("X-Authing-Userpool-Id")}, nil
}

// CheckPublicKeys refuses every key: Authing sends a shared secret.
func (d *Dialect) CheckPublicKeys(string) error {
	return store.Errorf(store.EINVALID, "An authing source takes no publicKeys: Authing sends a shared secret.")
}
