package delivery_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// TestDeliver_FusionAuthSignature checks X-FusionAuth-Signature-JWT with verification code
// of its own (no JWT library): an RS256 JWS over {"request_body_sha256": base64(sha256(body))}
// with the key's kid, as FusionAuth documents.
func TestDeliver_FusionAuthSignature(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	h := start(t, db, delivery.Config{})
	keys, _ := server.NewKeys("delivery-test-master-key")
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	key := &store.SigningKey{
		ID: uuid.NewString(), Algorithm: "RS256", Kid: "kid-1",
		PrivateSealed: keys.Seal(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))),
	}
	if err := db.CreateSigningKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, nil)
	h.webhook(t, rcv.URL, func(w *store.Webhook) { w.SigningEnabled, w.SigningKeyID = true, key.ID })
	h.publish(t, delivery.PublishInput{Type: "user.created"})
	got := rcv.wait(t, 1, 10*time.Second)[0]

	jws := got.header.Get("X-FusionAuth-Signature-JWT")
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jws)
	}
	var header struct{ Alg, Typ, Kid string }
	var claims map[string]any
	decode := func(s string, v any) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	decode(parts[0], &header)
	decode(parts[1], &claims)
	if header.Alg != "RS256" || header.Kid != "kid-1" {
		t.Errorf("header %+v", header)
	}
	sum := sha256.Sum256(got.body)
	if len(claims) != 1 || claims["request_body_sha256"] != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("claims %v, want only request_body_sha256 of the body", claims)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	signed := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, signed[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}
