package fusionauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"hash"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

var _ server.Ingester = (*Dialect)(nil)

// signatureMethods are the algorithms FusionAuth signs webhooks with.
var signatureMethods = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// maxPublicKeys bounds the keys of one source.
const maxPublicKeys = 32

// Verify checks X-FusionAuth-Signature-JWT: a JWS whose only claim is
// request_body_sha256, the standard base64 of the body's SHA-256, signed with an HMAC key
// (the source's secret, as given or base64-decoded, as FusionAuth's Key Master shows it)
// or an RSA, EC or EdDSA key (the source's public keys). Without it, the webhook's Basic
// auth is checked: its password must be the source's secret.
func (d *Dialect) Verify(src *store.Source, header http.Header, body []byte, now time.Time) error {
	token := header.Get("X-FusionAuth-Signature-JWT")
	if token == "" {
		if _, pass, ok := basicAuth(header); ok {
			match := 0
			for _, s := range src.Secrets {
				match |= subtle.ConstantTimeCompare([]byte(pass), []byte(s))
			}
			if match == 1 {
				return nil
			}
			return store.Errorf(store.EUNAUTHORIZED, "The Basic auth password is not the source's secret.")
		}
		return store.Errorf(store.EUNAUTHORIZED, "X-FusionAuth-Signature-JWT (or the webhook's Basic auth) is missing.")
	}
	if len(token) > 16<<10 {
		return store.Errorf(store.EUNAUTHORIZED, "X-FusionAuth-Signature-JWT is too long.")
	}
	if ok, done := verifyHMAC(src.Secrets, token, body, now); done {
		if !ok {
			return store.Errorf(store.EUNAUTHORIZED, "X-FusionAuth-Signature-JWT does not verify.")
		}
		return nil
	}
	keys, err := d.publicKeys(src.PublicKeys)
	if err != nil {
		return store.Errorf(store.EUNAUTHORIZED, "The source's public keys do not parse.")
	}
	claims := jwt.MapClaims{}
	_, err = jwt.NewParser(jwt.WithValidMethods(signatureMethods)).ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		var set jwt.VerificationKeySet
		if strings.HasPrefix(t.Method.Alg(), "HS") {
			for _, s := range src.Secrets {
				set.Keys = append(set.Keys, []byte(s))
				if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) > 0 {
					set.Keys = append(set.Keys, b)
				}
			}
		} else {
			for _, k := range keys {
				if kid == "" || k.kid == "" || k.kid == kid {
					set.Keys = append(set.Keys, k.key)
				}
			}
		}
		if len(set.Keys) == 0 {
			return nil, errors.New("no key")
		}
		return set, nil
	})
	if err != nil {
		return store.Errorf(store.EUNAUTHORIZED, "X-FusionAuth-Signature-JWT does not verify.")
	}
	sum := sha256.Sum256(body)
	got, _ := claims["request_body_sha256"].(string)
	if subtle.ConstantTimeCompare([]byte(got), []byte(base64.StdEncoding.EncodeToString(sum[:]))) != 1 {
		return store.Errorf(store.EUNAUTHORIZED, "request_body_sha256 is not the body's SHA-256.")
	}
	return nil
}

// verifyHMAC checks an HS256, HS384 or HS512 JWS without a general JWT parser, which
// was most of the cost of taking in a FusionAuth webhook: done is false for any other
// algorithm (or a token that is not a compact JWS), ok whether it verified with one of
// secrets (as given or base64-decoded) and carries the body's hash, unexpired.
func verifyHMAC(secrets []string, token string, body []byte, now time.Time) (ok, done bool) {
	h, rest, found := strings.Cut(token, ".")
	payload, sig, found2 := strings.Cut(rest, ".")
	if !found || !found2 || strings.Contains(sig, ".") {
		return false, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return false, false
	}
	var header struct {
		Alg  string `json:"alg"`
		Crit any    `json:"crit"`
	}
	if json.Unmarshal(raw, &header) != nil || header.Crit != nil {
		return false, false
	}
	var hash func() hash.Hash
	switch header.Alg {
	case "HS256":
		hash = sha256.New
	case "HS384":
		hash = sha512.New384
	case "HS512":
		hash = sha512.New
	default:
		return false, false
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return false, true
	}
	signed := token[:len(h)+1+len(payload)]
	verified := false
	for _, s := range secrets {
		keys := [][]byte{[]byte(s)}
		if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) > 0 {
			keys = append(keys, b)
		}
		for _, k := range keys {
			m := hmac.New(hash, k)
			m.Write([]byte(signed))
			if hmac.Equal(m.Sum(nil), mac) {
				verified = true
			}
		}
	}
	if !verified {
		return false, true
	}
	raw, err = base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return false, true
	}
	var claims struct {
		SHA256 string   `json:"request_body_sha256"`
		Exp    *float64 `json:"exp"`
		Nbf    *float64 `json:"nbf"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return false, true
	}
	at := float64(now.Unix())
	if (claims.Exp != nil && at >= *claims.Exp) || (claims.Nbf != nil && at < *claims.Nbf) {
		return false, true
	}
	sum := sha256.Sum256(body)
	return subtle.ConstantTimeCompare([]byte(claims.SHA256), []byte(base64.StdEncoding.EncodeToString(sum[:]))) == 1, true
}

// publicKeys parses a source's public keys once: sources are few, and their keys change
// only when an admin changes them.
func (d *Dialect) publicKeys(s string) ([]publicKey, error) {
	if s == "" {
		return nil, nil
	}
	if v, ok := d.parsedKeys.Load(s); ok {
		return v.([]publicKey), nil
	}
	keys, err := parsePublicKeys(s)
	if err != nil {
		return nil, err
	}
	if d.parsedKeysN.Add(1) > maxParsedKeySets { // start again rather than grow
		d.parsedKeys.Clear()
		d.parsedKeysN.Store(1)
	}
	d.parsedKeys.Store(s, keys)
	return keys, nil
}

// maxParsedKeySets bounds the sets of public keys kept parsed.
const maxParsedKeySets = 256

func basicAuth(h http.Header) (user, pass string, ok bool) {
	r := http.Request{Header: h}
	return r.BasicAuth()
}

// publicKey is one verification key and its kid ("" when it has none).
type publicKey struct {
	kid string
	key crypto.PublicKey
}

// parsePublicKeys reads PEM public keys or certificates, or a JWKS document.
func parsePublicKeys(s string) ([]publicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "{") {
		return parseJWKS([]byte(s))
	}
	var out []publicKey
	rest := []byte(s)
	for len(out) <= maxPublicKeys {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var (
			key crypto.PublicKey
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = c.PublicKey
			}
		default:
			err = errors.New("not a public key: " + block.Type)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, publicKey{key: key})
	}
	if len(out) == 0 || len(out) > maxPublicKeys {
		return nil, errors.New("no PEM public key")
	}
	return out, nil
}

func parseJWKS(b []byte) ([]publicKey, error) {
	var set struct {
		Keys []struct {
			Kid, Kty, Crv, N, E, X, Y string
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	if len(set.Keys) == 0 || len(set.Keys) > maxPublicKeys {
		return nil, errors.New("a JWKS needs 1 to 32 keys")
	}
	dec := base64.RawURLEncoding.DecodeString
	var out []publicKey
	for _, k := range set.Keys {
		var key crypto.PublicKey
		switch k.Kty {
		case "RSA":
			n, err1 := dec(k.N)
			e, err2 := dec(k.E)
			if err := errors.Join(err1, err2); err != nil || len(e) > 4 || len(n) > 2048 {
				return nil, errors.New("a bad RSA key")
			}
			key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		case "EC":
			var curve elliptic.Curve
			switch k.Crv {
			case "P-256":
				curve = elliptic.P256()
			case "P-384":
				curve = elliptic.P384()
			case "P-521":
				curve = elliptic.P521()
			default:
				return nil, errors.New("an unknown curve")
			}
			x, err1 := dec(k.X)
			y, err2 := dec(k.Y)
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			pk := &ecdsa.PublicKey{Curve: curve, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
			if _, err := pk.ECDH(); err != nil { // not on the curve
				return nil, err
			}
			key = pk
		case "OKP":
			x, err := dec(k.X)
			if err != nil || k.Crv != "Ed25519" || len(x) != ed25519.PublicKeySize {
				return nil, errors.New("a bad OKP key")
			}
			key = ed25519.PublicKey(x)
		default:
			return nil, errors.New("an unknown key type")
		}
		out = append(out, publicKey{kid: k.Kid, key: key})
	}
	return out, nil
}

// CheckPublicKeys checks PEM public keys (or certificates) or a JWKS document.
func (d *Dialect) CheckPublicKeys(keys string) error {
	if _, err := parsePublicKeys(keys); err != nil {
		return store.Errorf(store.EINVALID, "publicKeys must be PEM public keys or a JWKS document (RSA, EC or Ed25519): %s.", err.Error())
	}
	return nil
}

// standardFields are the event's fields Decode takes out of data (Encode's own).
var standardFields = []string{"type", "id", "createInstant", "tenantId"}

// Decode reads {"event": {"type", "id", "createInstant", "tenantId", ...}}: the rest of
// the event's fields are its data, each value as sent.
func (d *Dialect) Decode(_ http.Header, body []byte) (*server.Inbound, error) {
	var env struct {
		Event map[string]json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Event == nil {
		return nil, store.Errorf(store.EINVALID, "The body must be FusionAuth's {\"event\": {\"type\", ...}}.")
	}
	ev := env.Event
	in := &server.Inbound{}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"type", &in.Name}, {"id", &in.ID}, {"tenantId", &in.Tenant}} {
		if raw, ok := ev[f.name]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return nil, store.Errorf(store.EINVALID, "event.%s must be a string.", f.name)
			}
		}
	}
	if in.Name == "" {
		return nil, store.Errorf(store.EINVALID, "event.type is missing.")
	}
	if raw, ok := ev["createInstant"]; ok && string(raw) != "null" {
		ms, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return nil, store.Errorf(store.EINVALID, "event.createInstant must be epoch milliseconds.")
		}
		in.OccurredAt = time.UnixMilli(ms).UTC()
	}
	if in.Tenant != "" {
		if _, err := uuid.Parse(in.Tenant); err != nil {
			return nil, store.Errorf(store.EINVALID, "event.tenantId must be a UUID.")
		}
	}
	for _, f := range standardFields {
		delete(ev, f)
	}
	// The rest, in key order, each value as it came (the decoder checked it).
	names := make([]string, 0, len(ev))
	for k := range ev {
		names = append(names, k)
	}
	slices.Sort(names)
	data := make([]byte, 0, len(body))
	data = append(data, '{')
	for i, k := range names {
		if i > 0 {
			data = append(data, ',')
		}
		key, _ := json.Marshal(k)
		data = append(data, key...)
		data = append(data, ':')
		data = append(data, ev[k]...)
	}
	in.Data = append(data, '}')
	return in, nil
}
