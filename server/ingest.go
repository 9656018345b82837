package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/polyhook/polyhook/store"
)

// Inbound is one webhook a vendor sent, decoded by its dialect: the inverse of the
// dialect's Encoder, as far as the vendor's format carries the fields.
type Inbound struct {
	// ID is the vendor's own id of the event, "" when its format carries none.
	ID string
	// Name is the event's name in the dialect (a native name, listed or not).
	Name string
	// Tenant is the tenant the body (or its headers) names, "" when it names none.
	Tenant string
	// Data is the event's data, a JSON object.
	Data json.RawMessage
	// OccurredAt is when the event occurred, zero when the format does not say.
	OccurredAt time.Time
}

// Ingester is a Dialect that takes in its vendor's own webhooks, posted to a source's
// ingest URL: it checks the vendor's signature and decodes the vendor's body.
type Ingester interface {
	Dialect
	// Verify checks the vendor's signature (or shared secret) of body, sent with header,
	// against src's secrets and public keys, at now. Returns EUNAUTHORIZED when it is
	// missing or wrong.
	Verify(src *store.Source, header http.Header, body []byte, now time.Time) error
	// Decode reads a webhook body the vendor sends. Returns EINVALID when body is not one.
	Decode(header http.Header, body []byte) (*Inbound, error)
	// CheckPublicKeys returns EINVALID unless keys are public keys the dialect verifies
	// signatures with (in the form its vendor publishes them); a dialect whose vendor
	// signs with a shared secret only refuses every keys.
	CheckPublicKeys(keys string) error
}

// MaxInboundName bounds the native name of an inbound event.
const MaxInboundName = 100
