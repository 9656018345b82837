package fusionauth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// Encoder renders deliveries as FusionAuth sends them: {"event": {"type", "id",
// "createInstant", "tenantId", ...data}} as JSON, id and tenantId as UUIDs (tenantId only
// when the event's tenant is one), signed with X-FusionAuth-Signature-JWT when the
// webhook's signatureConfiguration is enabled.
type Encoder struct {
	db   *store.DB
	keys *server.Keys
	// signers caches parsed signing keys by id; keys never change once created.
	signers sync.Map
}

var _ delivery.Encoder = (*Encoder)(nil)

// Encoder returns the dialect's delivery encoder.
func (d *Dialect) Encoder() delivery.Encoder { return d.encoder }

// Dialect is "fusionauth".
func (*Encoder) Dialect() string { return Name }

// Known reports whether native is a FusionAuth event type.
func (*Encoder) Known(native string) bool { return eventTypes[native] }

// Subscribes reports whether the webhook's eventsEnabled has native set to true.
func (*Encoder) Subscribes(w *store.Webhook, native string) bool {
	return slices.Contains(w.Events, native)
}

// InScope is FusionAuth's scope rule: a global webhook gets every tenant's events (and
// those with no tenant), any other the events of the tenants it lists.
func (*Encoder) InScope(w *store.Webhook, tenant string) bool {
	return w.Global || (tenant != "" && slices.Contains(w.TenantIDs, tenant))
}

// Encode puts the event's data fields into FusionAuth's event object; the standard fields
// (type, id, createInstant, tenantId) win over data keys of the same name.
func (e *Encoder) Encode(m *delivery.Message) ([]byte, http.Header, error) {
	body, err := eventBody(m)
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if m.Webhook.SigningEnabled {
		sig, err := e.sign(context.Background(), m.Webhook.SigningKeyID, body)
		if err != nil {
			return nil, nil, err
		}
		h.Set("X-FusionAuth-Signature-JWT", sig)
	}
	return body, h, nil
}

// eventBody is {"event": {...data, "type", "id", "createInstant", "tenantId"}}. The
// data's members are written as they are, ahead of the standard fields: the attempt's
// row then leaves them out, as its event's row has them (store.Attempt.EventData). Data
// that has a standard field of its own is merged, the standard field winning, and
// written with every object's keys sorted.
func eventBody(m *delivery.Message) ([]byte, error) {
	data := bytes.TrimSpace(m.Data)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	if data[0] != '{' || !json.Valid(data) {
		return nil, errors.New("the event's data is not a JSON object")
	}
	tenant := ""
	if t, err := uuid.Parse(m.Tenant); err == nil {
		tenant = t.String()
	}
	if hasStandardKey(data) {
		event := map[string]any{}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&event); err != nil {
			return nil, err
		}
		event["type"], event["id"], event["createInstant"] = m.EventName, EventID(m.EventID), m.OccurredAt.UnixMilli()
		if tenant != "" {
			event["tenantId"] = tenant
		}
		return json.Marshal(map[string]any{"event": event})
	}
	name, err := json.Marshal(m.EventName)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(data)+len(name)+128)
	b = append(b, `{"event":{`...)
	if members := data[1 : len(data)-1]; len(bytes.TrimSpace(members)) > 0 {
		b = append(append(b, members...), ',')
	}
	b = append(append(b, `"type":`...), name...)
	b = append(append(append(b, `,"id":"`...), EventID(m.EventID)...), '"') // a UUID: nothing to escape
	b = strconv.AppendInt(append(b, `,"createInstant":`...), m.OccurredAt.UnixMilli(), 10)
	if tenant != "" {
		b = append(append(append(b, `,"tenantId":"`...), tenant...), '"')
	}
	return append(b, `}}`...), nil
}

// hasStandardKey reports whether the JSON object data (valid) has a member named like a
// standard field of FusionAuth's event (type, id, createInstant, tenantId), or one whose
// name has escapes, which might spell one. It reads the object's own keys only, not
// those of the values within.
func hasStandardKey(data []byte) bool {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			j, escaped := i+1, false
			for ; j < len(data) && data[j] != '"'; j++ {
				if data[j] == '\\' {
					escaped = true
					j++
				}
			}
			if depth == 1 {
				k := j + 1
				for k < len(data) && (data[k] == ' ' || data[k] == '\t' || data[k] == '\n' || data[k] == '\r') {
					k++
				}
				if k < len(data) && data[k] == ':' {
					if escaped {
						return true
					}
					switch string(data[i+1 : j]) {
					case "type", "id", "createInstant", "tenantId":
						return true
					}
				}
			}
			i = j
		}
	}
	return false
}

// eventIDSpace is the UUIDv5 namespace of the FusionAuth ids of native event ids.
var eventIDSpace = uuid.MustParse("5b0c3f8e-4d2a-4c6e-9a71-2f8d0e6b1c94")

// EventID is the FusionAuth event.id of the event with native id id: FusionAuth's
// BaseEvent.id is a UUID, so a native id that is a UUID in canonical form is sent as it
// is, and any other the UUIDv5 of it in eventIDSpace. Every webhook and every retry of
// one event gets the same id.
func EventID(id string) string {
	if u, err := uuid.Parse(id); err == nil && u.String() == id {
		return id
	}
	return uuid.NewSHA1(eventIDSpace, []byte(id)).String()
}

type signer struct {
	method jwt.SigningMethod
	key    any
	kid    string
}

// sign returns FusionAuth's webhook signature: a JWS whose only claim is
// request_body_sha256, the standard base64 of the body's SHA-256, with the key's kid.
func (e *Encoder) sign(ctx context.Context, keyID string, body []byte) (string, error) {
	s, err := e.signer(ctx, keyID)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	t := jwt.NewWithClaims(s.method, jwt.MapClaims{"request_body_sha256": base64.StdEncoding.EncodeToString(sum[:])})
	t.Header["kid"] = s.kid
	return t.SignedString(s.key)
}

func (e *Encoder) signer(ctx context.Context, keyID string) (*signer, error) {
	if s, ok := e.signers.Load(keyID); ok {
		return s.(*signer), nil
	}
	k, err := e.db.GetSigningKey(ctx, keyID)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", keyID, err)
	}
	private, err := e.keys.Open(k.PrivateSealed)
	if err != nil {
		return nil, err
	}
	s := &signer{method: jwt.GetSigningMethod(k.Algorithm), kid: k.Kid}
	if s.method == nil {
		return nil, fmt.Errorf("signing key %s: unknown algorithm %q", keyID, k.Algorithm)
	}
	switch k.Algorithm[:2] {
	case "HS":
		if s.key, err = base64.StdEncoding.DecodeString(private); err != nil {
			return nil, err
		}
	default:
		block, _ := pem.Decode([]byte(private))
		if block == nil {
			return nil, errors.New("signing key: not PEM")
		}
		if s.key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			return nil, err
		}
	}
	e.signers.Store(keyID, s)
	return s, nil
}

// jwks serves the public keys of the asymmetric signing keys as a JSON Web Key Set.
func (d *Dialect) jwks(c echo.Context) error {
	ks, err := d.db.SigningKeys(c.Request().Context())
	if err != nil {
		return err
	}
	keys := []map[string]any{}
	for _, k := range ks {
		block, _ := pem.Decode([]byte(k.PublicKeyPEM))
		if block == nil {
			continue // HMAC keys have no public part
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			continue
		}
		jwk := map[string]any{"kid": k.Kid, "alg": k.Algorithm, "use": "sig"}
		switch p := pub.(type) {
		case *rsa.PublicKey:
			jwk["kty"], jwk["n"], jwk["e"] = "RSA", b64url(p.N.Bytes()), b64url(big.NewInt(int64(p.E)).Bytes())
		case *ecdsa.PublicKey:
			size := (p.Curve.Params().BitSize + 7) / 8
			jwk["kty"], jwk["crv"] = "EC", p.Curve.Params().Name
			jwk["x"], jwk["y"] = b64url(p.X.FillBytes(make([]byte, size))), b64url(p.Y.FillBytes(make([]byte, size)))
		default:
			continue
		}
		keys = append(keys, jwk)
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": keys})
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
