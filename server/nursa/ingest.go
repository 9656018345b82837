package nursa

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

var _ server.Ingester = (*Dialect)(nil)

// SignatureTolerance is how far a Nursa-Signature's t may be from the gateway's clock,
// either way: Nursa states no maximum age; five minutes is what its receivers are told
// to pick, and what refuses a replay of an old body.
const SignatureTolerance = 5 * time.Minute

// maxSignatures bounds the v1 entries of one Nursa-Signature that are checked.
const maxSignatures = 8

// Verify checks Nursa-Signature: t=<unix seconds>, v1=<hex>[, v1=<hex>], each v1 the
// HMAC-SHA256 of "t.body" with one of the webhook's secrets; any v1 made with any of the
// source's secrets (two during a rotation) passes, when t is within SignatureTolerance.
func (d *Dialect) Verify(src *store.Source, header http.Header, body []byte, now time.Time) error {
	v := header.Get("Nursa-Signature")
	if v == "" {
		return store.Errorf(store.EUNAUTHORIZED, "Nursa-Signature is missing.")
	}
	if len(v) > 4096 {
		return store.Errorf(store.EUNAUTHORIZED, "Nursa-Signature is too long.")
	}
	var (
		ts   string
		sigs [][]byte
	)
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = val
		case "v1":
			if b, err := hex.DecodeString(val); err == nil && len(sigs) < maxSignatures {
				sigs = append(sigs, b)
			}
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return store.Errorf(store.EUNAUTHORIZED, "Nursa-Signature must be \"t=<unix seconds>, v1=<hex>\".")
	}
	if at := time.Unix(t, 0); at.Before(now.Add(-SignatureTolerance)) || at.After(now.Add(SignatureTolerance)) {
		return store.Errorf(store.EUNAUTHORIZED, "Nursa-Signature's t is more than %s away from now.", SignatureTolerance)
	}
	for _, secret := range src.Secrets {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "."))
		m.Write(body)
		want := m.Sum(nil)
		for _, s := range sigs {
			if hmac.Equal(s, want) {
				return nil
			}
		}
	}
	return store.Errorf(store.EUNAUTHORIZED, "No v1 of Nursa-Signature matches the source's secrets.")
}

// Decode reads Nursa's {"data": {...}, "eventType": "..."}. Nursa's format carries no
// event id, tenant or time besides data.at (shift events), which becomes the time.
func (d *Dialect) Decode(_ http.Header, body []byte) (*server.Inbound, error) {
	var env struct {
		Data      json.RawMessage `json:"data"`
		EventType string          `json:"eventType"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.EventType == "" {
		return nil, store.Errorf(store.EINVALID, "The body must be Nursa's {\"data\": {...}, \"eventType\": \"...\"}.")
	}
	data := bytes.TrimSpace(env.Data)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	if data[0] != '{' {
		return nil, store.Errorf(store.EINVALID, "data must be a JSON object.")
	}
	in := &server.Inbound{Name: env.EventType, Data: data}
	var at struct {
		At string `json:"at"`
	}
	if json.Unmarshal(data, &at) == nil && at.At != "" {
		if t, err := time.Parse(time.RFC3339Nano, at.At); err == nil {
			in.OccurredAt = t
		}
	}
	return in, nil
}

// CheckPublicKeys refuses every key: Nursa signs with shared secrets only.
func (d *Dialect) CheckPublicKeys(string) error {
	return store.Errorf(store.EINVALID, "A nursa source takes no publicKeys: Nursa signs with shared secrets.")
}
