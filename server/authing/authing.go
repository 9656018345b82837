// Package authing serves Authing's (GenAuth's) management API V3 webhook operations (seed
// 003, vendors.md §4) on the shared webhook model, with both authentication schemes its
// clients use: the Node SDK's AK/SK request signatures and management tokens. Webhooks
// belong to the user pool.
package authing

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/authingapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

const (
	tokenTTL  = 2 * time.Hour
	tokenPath = "/api/v3/get-management-token"
)

// Dialect is the Authing dialect.
type Dialect struct {
	db      *store.DB
	keys    *server.Keys
	limiter *server.Limiter
	logins  *server.Logins
	log     *slog.Logger
	engine  *delivery.Engine
	nonces  nonces
	// checkTarget refuses URLs deliveries may not reach (see server.Deps.Targets).
	checkTarget func(string) error
	// Now is the clock signatures are checked against; tests may replace it.
	Now func() time.Time
}

var _ server.Dialect = (*Dialect)(nil)

// New returns the Authing dialect. deps.Engine sends trigger-webhook's test events.
func New(deps server.Deps) *Dialect {
	if deps.DB != nil {
		// get-webhook-logs lists a webhook's attempts, newest first.
		deps.DB.LogAttemptsByWebhook(Name)
	}
	return &Dialect{db: deps.DB, keys: deps.Keys, limiter: deps.Limiter, logins: deps.Logins, log: deps.Log, engine: deps.Engine, Now: time.Now, checkTarget: deps.CheckTarget}
}

// Name is "authing".
func (d *Dialect) Name() string { return Name }

// Register serves /api/v3's webhook operations and the management-token endpoint.
func (d *Dialect) Register(r *server.Router) {
	api.RegisterHandlers(r.With(server.Errors(d.log, render), d.authenticate), handlers{d})
	// A path or method no route takes is an error envelope too: HTTP 200 with statusCode
	// 404 (apiCode 4040) or 405 (4050), since the SDK throws on any HTTP status >= 400.
	r.Unrouted(render, "/api/v3")
}

// MintCredential creates a user pool with one access key. The secret is stored hashed and
// sealed: AK/SK signatures are HMACs keyed with it.
func (d *Dialect) MintCredential(ctx context.Context, req server.CredentialRequest) (*server.MintedCredential, error) {
	if err := req.Refuse(Name); err != nil {
		return nil, err
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	c := &store.Credential{
		ID:           objectID(),
		Dialect:      Name,
		Name:         req.Name,
		SecretHash:   store.HashSecret(secret),
		SecretSealed: d.keys.Seal(secret),
		UserPoolID:   objectID(),
	}
	if err := d.db.CreateCredential(ctx, c); err != nil {
		return nil, err
	}
	return &server.MintedCredential{Credential: c, Fields: map[string]any{"userPoolId": c.UserPoolID, "accessKeyId": c.ID, "accessKeySecret": secret}}, nil
}

// CredentialFields shows the user pool the credential manages.
func (d *Dialect) CredentialFields(c *store.Credential) map[string]any {
	return map[string]any{"userPoolId": c.UserPoolID}
}

// Encoder is the dialect's part in delivery.
func (d *Dialect) Encoder() delivery.Encoder { return Encoder{} }

// objectID is a 24-hex id like Authing's (MongoDB ObjectId): a timestamp and random bytes.
func objectID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b[4:])
	t := uint32(time.Now().Unix())
	b[0], b[1], b[2], b[3] = byte(t>>24), byte(t>>16), byte(t>>8), byte(t)
	return hex.EncodeToString(b)
}

// authenticate accepts an AK/SK signature or a management token and puts the user pool
// in the context. Failures are 401 envelopes (HTTP 200, as Authing answers).
func (d *Dialect) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == tokenPath {
			return next(c)
		}
		req := c.Request()
		body, err := server.ReadBody(c)
		if err != nil {
			return err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		auth := strings.TrimSpace(req.Header.Get("Authorization"))
		var pool string
		switch {
		case strings.HasPrefix(auth, "authing "):
			pool, err = d.verifySignature(c, body)
		case auth != "":
			pool, err = d.verifyToken(c, strings.TrimSpace(strings.TrimPrefix(auth, "Bearer ")))
		default:
			err = unauthorized(codeUnauthorized, "Missing authorization header.")
		}
		if err != nil {
			return err
		}
		if allowed, wait := d.limiter.Allow("authing:" + pool); !allowed {
			return &apiError{status: 429, apiCode: codeThrottled, message: "Too many requests.", retryAfter: int(wait.Seconds()) + 1}
		}
		c.Set("authing.pool", pool)
		return next(c)
	}
}

func (d *Dialect) verifySignature(c echo.Context, body []byte) (string, error) {
	now := d.Now()
	sr, err := parseSignature(c.Request(), body, now)
	if err != nil {
		return "", err
	}
	badSignature := func() error {
		if err := d.logins.Failed(c, "authing:"+sr.accessKeyID); err != nil {
			return err
		}
		return unauthorized(codeBadSignature, "Unknown access key or bad signature.")
	}
	cred, err := d.db.Credential(c.Request().Context(), Name, sr.accessKeyID)
	if store.ErrorCode(err) == store.EUNAUTHORIZED {
		return "", badSignature()
	} else if err != nil {
		return "", err
	}
	secret, err := d.keys.Open(cred.SecretSealed)
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(sign(secret, sr.toSign)), []byte(sr.signature)) != 1 {
		return "", badSignature()
	}
	// Only a correctly signed request spends its nonce, so forgeries cannot block one.
	if err := d.nonces.use(sr.accessKeyID, sr.nonce, sr.date, now); err != nil {
		return "", err
	}
	return cred.UserPoolID, nil
}

func (d *Dialect) verifyToken(c echo.Context, token string) (string, error) {
	claims, err := d.keys.VerifyToken(Name, token)
	if err != nil {
		return "", unauthorized(codeUnauthorized, "Invalid or expired management token.")
	}
	pool, _ := claims["pool"].(string)
	if h := c.Request().Header.Get("X-Authing-Userpool-Id"); h != pool {
		return "", unauthorized(codeUnauthorized, "The x-authing-userpool-id header does not match the management token.")
	}
	sub, _ := claims["sub"].(string)
	if _, err := d.db.Credential(c.Request().Context(), Name, sub); err != nil {
		if store.ErrorCode(err) == store.EUNAUTHORIZED {
			return "", unauthorized(codeUnauthorized, "The access key of this token was revoked.")
		}
		return "", err
	}
	return pool, nil
}

func poolOf(c echo.Context) string {
	s, _ := c.Get("authing.pool").(string)
	return s
}
