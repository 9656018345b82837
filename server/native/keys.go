package native

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

type keyWire struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Algorithm string `json:"algorithm"`
	Kid       string `json:"kid"`
	PublicKey string `json:"publicKey,omitempty"`
	Secret    string `json:"secret,omitempty"`
	CreatedAt string `json:"createdAt"`
}

func keyOut(k *store.SigningKey) keyWire {
	return keyWire{ID: k.ID, Name: k.Name, Algorithm: k.Algorithm, Kid: k.Kid, PublicKey: k.PublicKeyPEM,
		CreatedAt: k.CreatedAt.Format("2006-01-02T15:04:05.000Z07:00")}
}

func (h handlers) CreateKey(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req struct {
		Name      string `json:"name"`
		Algorithm string `json:"algorithm"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return store.Errorf(store.EINVALID, "The body must be {\"algorithm\": \"HS256\"|\"RS256\"|\"ES256\"|..., \"name\"?}.")
	}
	if len(req.Name) > 255 {
		return store.Errorf(store.EINVALID, "The name is longer than 255 characters.")
	}
	private, public, secret, err := generateKey(req.Algorithm)
	if err != nil {
		return err
	}
	k := &store.SigningKey{
		ID: uuid.NewString(), Name: req.Name, Algorithm: req.Algorithm,
		Kid:           base64.RawURLEncoding.EncodeToString(randomBytes(12)),
		PrivateSealed: h.keys.Seal(private), PublicKeyPEM: public,
	}
	if err := h.db.CreateSigningKey(c.Request().Context(), k); err != nil {
		return err
	}
	out := keyOut(k)
	out.Secret = secret
	return c.JSON(http.StatusCreated, out)
}

func (h handlers) ListKeys(c echo.Context) error {
	ks, err := h.db.SigningKeys(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]keyWire, 0, len(ks))
	for i := range ks {
		out = append(out, keyOut(&ks[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": out})
}

func (h handlers) DeleteKey(c echo.Context, id string) error {
	if err := h.db.DeleteSigningKey(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// generateKey makes a key for a JWS algorithm and returns its private material (the HMAC
// secret, or a PKCS#8 PEM), its public key PEM, and the secret to show once (HMAC only).
func generateKey(alg string) (private, public, secret string, err error) {
	switch alg {
	case "HS256", "HS384", "HS512":
		size := map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}[alg]
		s := base64.StdEncoding.EncodeToString(randomBytes(size))
		return s, "", s, nil
	case "RS256", "RS384", "RS512":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", "", "", err
		}
		return pemKeys(k, &k.PublicKey)
	case "ES256", "ES384", "ES512":
		curve := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return "", "", "", err
		}
		return pemKeys(k, &k.PublicKey)
	}
	return "", "", "", store.Errorf(store.EINVALID, "algorithm must be one of HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512.")
}

func pemKeys(priv, pub any) (string, string, string, error) {
	p, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", "", err
	}
	q, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p})),
		strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: q}))), "", nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
