package server

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/polyhook/polyhook/store"
)

// Keys are the gateway's own secrets, derived from one master key: one signs the access
// tokens dialects issue (Xsolla's server JWT, Nursa's OIDC token, Authing's management
// token), one seals the credential secrets that must be recoverable.
type Keys struct {
	signing []byte
	sealing cipher.AEAD
	// webhooks seals the secrets the gateway sends to subscribers (see store.Sealer).
	webhooks *store.Sealer
}

// settingMasterKey holds the generated master key when none is configured.
const settingMasterKey = "master_key"

// LoadKeys derives the keys from configured (POLYHOOK_SECRET_KEY) when it is set, or else
// from a master key generated on first start and kept in the database. Keeping it apart
// from the database is safer: a database dump then holds no usable secret. It then has
// the store seal webhook secrets with them (sealing any still in clear), and fails when
// they were sealed with another master key.
func LoadKeys(ctx context.Context, db *store.DB, configured string) (*Keys, error) {
	master := configured
	if master == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		if _, err := db.InitSetting(ctx, settingMasterKey, base64.RawURLEncoding.EncodeToString(b)); err != nil {
			return nil, err
		}
		var err error
		if master, err = db.Setting(ctx, settingMasterKey); err != nil {
			return nil, err
		}
	}
	keys, err := NewKeys(master)
	if err != nil {
		return nil, err
	}
	if err := db.SealSecrets(ctx, keys.webhooks); err != nil {
		return nil, err
	}
	return keys, nil
}

// NewKeys derives the keys from a master secret.
func NewKeys(master string) (*Keys, error) {
	if len(master) < 16 {
		return nil, errors.New("the secret key must be at least 16 characters")
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, []byte(master))
		m.Write([]byte("polyhook/" + label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// Subscriber secrets get a key of their own, derived with HKDF.
	wk, err := hkdf.Key(sha256.New, []byte(master), nil, "polyhook/webhook-secrets/v1", 32)
	if err != nil {
		return nil, err
	}
	webhooks, err := store.NewSealer(wk)
	if err != nil {
		return nil, err
	}
	return &Keys{signing: derive("jwt"), sealing: aead, webhooks: webhooks}, nil
}

// Seal encrypts a secret for storage.
func (k *Keys) Seal(plaintext string) string {
	nonce := make([]byte, k.sealing.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(k.sealing.Seal(nonce, nonce, []byte(plaintext), nil))
}

// Open decrypts a sealed secret.
func (k *Keys) Open(sealed string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(b) < k.sealing.NonceSize() {
		return "", errors.New("malformed sealed secret")
	}
	n := k.sealing.NonceSize()
	out, err := k.sealing.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return "", fmt.Errorf("open sealed secret: %w", err)
	}
	return string(out), nil
}

// TokenClaims are the claims of an access token the gateway issues.
type TokenClaims struct {
	// Dialect is the API the token is good for; a token of one dialect is refused by
	// every other.
	Dialect string `json:"dialect"`
	jwt.RegisteredClaims
}

// IssueToken signs an HS256 access token for credential id of dialect, valid for ttl.
// extra claims are merged in (for instance Xsolla's project ids).
func (k *Keys) IssueToken(dialect, credentialID string, ttl time.Duration, extra map[string]any) (string, error) {
	now := time.Now()
	claims := jwt.MapClaims{
		"dialect": dialect,
		"sub":     credentialID,
		"iss":     "polyhook",
		"iat":     now.Unix(),
		"exp":     now.Add(ttl).Unix(),
		"jti":     base64.RawURLEncoding.EncodeToString(randomBytes(12)),
	}
	for k, v := range extra {
		claims[k] = v
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(k.signing)
}

// VerifyToken checks an access token's signature, expiry and dialect and returns its
// claims. Any failure is EUNAUTHORIZED.
func (k *Keys) VerifyToken(dialect, token string) (jwt.MapClaims, error) {
	claims, err := k.ParseToken(token)
	if err != nil {
		return nil, err
	}
	if d, _ := claims["dialect"].(string); d != dialect {
		return nil, store.Errorf(store.EUNAUTHORIZED, "Invalid or expired token.")
	}
	return claims, nil
}

// ParseToken checks an access token's signature and expiry, whatever its dialect, and
// returns its claims; claims["dialect"] says which API it is for. Any failure is
// EUNAUTHORIZED.
func (k *Keys) ParseToken(token string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return k.signing, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("polyhook"), jwt.WithExpirationRequired())
	if err != nil {
		return nil, &store.Error{Code: store.EUNAUTHORIZED, Message: "Invalid or expired token.", Err: err}
	}
	return claims, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
