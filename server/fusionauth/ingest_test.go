package fusionauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/store"
)

// signJWT is X-FusionAuth-Signature-JWT of body: a JWS whose only claim is
// request_body_sha256.
func signJWT(t *testing.T, m jwt.SigningMethod, key any, kid string, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	tok := jwt.NewWithClaims(m, jwt.MapClaims{"request_body_sha256": base64.StdEncoding.EncodeToString(sum[:])})
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pemOf(t *testing.T, pub crypto.PublicKey) string {
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: b}))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestVerify_EveryKeyKind(t *testing.T) {
	t.Parallel()
	d := fusionauth.New(server.Deps{})
	body := []byte(`{"event":{"type":"user.create","id":"e502168a-b469-45d9-a079-fd45f83e0406"}}`)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	hmacKey := make([]byte, 32)
	_, _ = rand.Read(hmacKey)
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kid": "rsa-1", "kty": "RSA", "n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())},
		{"kid": "ec-1", "kty": "EC", "crv": "P-256", "x": b64(ecKey.X.FillBytes(make([]byte, 32))), "y": b64(ecKey.Y.FillBytes(make([]byte, 32)))},
		{"kid": "ed-1", "kty": "OKP", "crv": "Ed25519", "x": b64(edPub)},
	}})
	pems := pemOf(t, &rsaKey.PublicKey) + pemOf(t, &ecKey.PublicKey) + pemOf(t, edPub)
	for _, keys := range []string{string(jwks), pems} {
		if err := d.CheckPublicKeys(keys); err != nil {
			t.Fatalf("check %.30q: %v", keys, err)
		}
	}
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, c := range []struct {
		name string
		src  store.Source
		jwt  string
		ok   bool
	}{
		{"HS256, secret as FusionAuth shows it (base64)", store.Source{Secrets: []string{base64.StdEncoding.EncodeToString(hmacKey)}}, signJWT(t, jwt.SigningMethodHS256, hmacKey, "k", body), true},
		{"HS512, the previous secret", store.Source{Secrets: []string{"new", "old-secret"}}, signJWT(t, jwt.SigningMethodHS512, []byte("old-secret"), "", body), true},
		{"HS256, another secret", store.Source{Secrets: []string{"mine"}}, signJWT(t, jwt.SigningMethodHS256, []byte("theirs"), "", body), false},
		{"RS256, JWKS", store.Source{PublicKeys: string(jwks)}, signJWT(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", body), true},
		{"RS256, PEM, no kid", store.Source{PublicKeys: pems}, signJWT(t, jwt.SigningMethodRS256, rsaKey, "", body), true},
		{"ES256, JWKS", store.Source{PublicKeys: string(jwks)}, signJWT(t, jwt.SigningMethodES256, ecKey, "ec-1", body), true},
		{"EdDSA, PEM", store.Source{PublicKeys: pems}, signJWT(t, jwt.SigningMethodEdDSA, edKey, "ed-1", body), true},
		{"RS256, a kid of another key", store.Source{PublicKeys: string(jwks)}, signJWT(t, jwt.SigningMethodRS256, rsaKey, "ec-1", body), false},
		{"RS256, a key not listed", store.Source{PublicKeys: string(jwks)}, signJWT(t, jwt.SigningMethodRS256, otherRSA, "rsa-1", body), false},
		{"RS256, no keys", store.Source{Secrets: []string{"s"}}, signJWT(t, jwt.SigningMethodRS256, rsaKey, "", body), false},
		{"another body", store.Source{Secrets: []string{"s"}}, signJWT(t, jwt.SigningMethodHS256, []byte("s"), "", []byte("{}")), false},
		{"alg none", store.Source{Secrets: []string{"s"}}, signJWT(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", body), false},
	} {
		h := http.Header{"X-Fusionauth-Signature-Jwt": {c.jwt}}
		err := d.Verify(&c.src, h, body, time.Now())
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && store.ErrorCode(err) != store.EUNAUTHORIZED {
			t.Errorf("%s: verified (%v)", c.name, err)
		}
	}
	// Basic auth, when that is how the webhook was set up.
	src := &store.Source{Secrets: []string{"basic-pass"}}
	r, _ := http.NewRequest("POST", "/", nil)
	r.SetBasicAuth("fusionauth", "basic-pass")
	if err := d.Verify(src, r.Header, body, time.Now()); err != nil {
		t.Errorf("basic auth: %v", err)
	}
	r.SetBasicAuth("fusionauth", "wrong")
	if err := d.Verify(src, r.Header, body, time.Now()); store.ErrorCode(err) != store.EUNAUTHORIZED {
		t.Errorf("wrong basic auth: %v", err)
	}
	if err := d.Verify(src, http.Header{}, body, time.Now()); store.ErrorCode(err) != store.EUNAUTHORIZED {
		t.Errorf("nothing: %v", err)
	}
	for _, bad := range []string{"x", `{"keys":[]}`, `{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`, "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"} {
		if err := d.CheckPublicKeys(bad); store.ErrorCode(err) != store.EINVALID {
			t.Errorf("keys %q: %v", bad, err)
		}
	}
}
