package store

import (
	"encoding/json"
	"time"
)

// Webhook is one subscription, whichever dialect created it. Each dialect maps its wire
// fields onto these columns and back; what a dialect needs to round-trip and nothing else
// uses goes into Extra. The secrets among its fields (custom header values, the basic-auth
// password, Secrets and SigningSecrets) are sealed in the database and in clear here: the
// store seals them when it writes a webhook and opens them when it reads one (see
// SealSecrets).
type Webhook struct {
	// ID is Polyhook's own id, a UUID.
	ID string `gorm:"primaryKey;size:64"`
	// Dialect is the API that owns the webhook; other dialects never see it.
	Dialect string `gorm:"size:16;not null;uniqueIndex:idx_webhook_external,priority:1;index:idx_webhook_owner,priority:1"`
	// ExternalID is the id in the dialect's own format (UUID, integer, 24-hex).
	ExternalID string `gorm:"size:64;not null;uniqueIndex:idx_webhook_external,priority:2"`
	// Owner, Global and TenantIDs scope the webhook: each dialect maps its own notion of
	// scope onto them, and its scope rule says which tenants' events reach the webhook
	// (DB.MatchCandidates finds the candidates). Owner is the one tenant that owns the
	// webhook, if any.
	Owner string `gorm:"size:128;not null;default:'';index:idx_webhook_owner,priority:2"`

	URL         string `gorm:"not null"`
	Name        string `gorm:"not null;default:''"`
	Description string `gorm:"not null;default:''"`
	// Events are the subscribed events in the dialect's own names.
	Events  []string `gorm:"type:text;serializer:json"`
	Enabled bool     `gorm:"not null"`

	Global    bool     `gorm:"not null"`
	TenantIDs []string `gorm:"type:text;serializer:json"`

	Headers           map[string]string `gorm:"type:text;serializer:json"`
	BasicAuthUser     string            `gorm:"not null;default:''"`
	BasicAuthPassword string            `gorm:"not null;default:''"`
	// ConnectTimeout and ReadTimeout are in milliseconds; zero means the default.
	ConnectTimeout int `gorm:"not null;default:0"`
	ReadTimeout    int `gorm:"not null;default:0"`
	// SSLCertificate is a PEM certificate the receiver's TLS chain must match.
	SSLCertificate      string `gorm:"type:text;not null;default:''"`
	SSLCertificateKeyID string `gorm:"size:64;not null;default:''"`
	SigningEnabled      bool   `gorm:"not null;default:false"`
	SigningKeyID        string `gorm:"size:64;not null;default:''"`
	// Secrets are the dialect's signing secrets, newest first.
	Secrets     []string `gorm:"type:text;serializer:json"`
	ContentType string   `gorm:"size:64;not null;default:''"`
	Retry       *Retry   `gorm:"type:text;serializer:json"`
	// RateLimit is how many attempts per second the webhook takes at most, across every
	// replica; zero means no limit.
	RateLimit int `gorm:"not null;default:0"`
	// Ordered makes the webhook's deliveries go in lanes, one per ordering key, each in
	// publish order, one attempt at a time (see lanes.go).
	Ordered bool `gorm:"not null;default:false"`

	// Data is the client's free-form JSON object, kept byte for byte so that numbers of
	// any size round-trip exactly.
	Data json.RawMessage `gorm:"type:text;serializer:json"`
	// Filter is a native subscription's payload filter (package filter), kept as the
	// client sent it; empty matches every event.
	Filter json.RawMessage `gorm:"column:payload_filter;type:text;serializer:json"`
	// Extra holds what one dialect needs to round-trip and no other part uses.
	Extra map[string]any `gorm:"type:text;serializer:json"`

	// SigningSecrets are the Standard Webhooks ("whsec_") secrets every delivery is
	// signed with; during a rotation the old one stays until it expires.
	SigningSecrets []SigningSecret `gorm:"type:text;serializer:json"`
	// DisabledAt is set when the gateway stopped delivering to the endpoint (it answered
	// 410, or failed for too long); DisabledReason says why.
	DisabledAt     *time.Time `gorm:""`
	DisabledReason string     `gorm:"type:text;not null;default:''"`
	// FailingSince is the start of the endpoint's current run of failed attempts; nil
	// while its last attempt succeeded.
	FailingSince *time.Time `gorm:""`
	// PausedAt is set while an operator has paused the webhook: its deliveries are still
	// made, and wait, held and unattempted, until it is resumed.
	PausedAt *time.Time `gorm:""`

	// Version counts the webhook's stored changes; an update is written only over the
	// version it read (see UpdateWebhook), so that concurrent changes are never lost.
	Version int64 `gorm:"not null;default:0"`

	CreatedAt time.Time `gorm:"not null;autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"not null;autoUpdateTime:false"`
}

// SigningSecret is one Standard Webhooks secret of a webhook.
type SigningSecret struct {
	Secret string `json:"secret"`
	// ExpiresAt is set on a secret that was rotated out; it signs until then.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// ActiveSecrets returns the signing secrets in force at now.
func (w *Webhook) ActiveSecrets(now time.Time) []string {
	var out []string
	for _, s := range w.SigningSecrets {
		if s.ExpiresAt == nil || now.Before(*s.ExpiresAt) {
			out = append(out, s.Secret)
		}
	}
	return out
}

// Retry is a webhook's own retry setting, for dialects whose API has one: a fixed delay,
// counted in DelayUnit (a unit of the dialect's own vocabulary), and a count of retries.
type Retry struct {
	Enabled   bool   `json:"enabled"`
	Count     int    `json:"count,omitempty"`
	Delay     int    `json:"delay,omitempty"`
	DelayUnit string `json:"delayUnit,omitempty"`
}

// Credential lets a client call one dialect's API. Only a hash of its secret is stored.
type Credential struct {
	// ID is the credential's public id: the client id or access key id where the dialect
	// has one.
	ID      string `gorm:"primaryKey;size:64"`
	Dialect string `gorm:"size:16;not null;index"`
	Name    string `gorm:"not null;default:''"`
	// SecretHash is the hex SHA-256 of the secret. Secrets are 256-bit random strings,
	// so a plain hash is enough and makes lookup by secret an index scan.
	SecretHash string `gorm:"size:64;not null;uniqueIndex"`
	// SecretSealed is the secret itself, encrypted with the gateway's key, for schemes
	// that need it back (request signatures that are HMACs keyed with the secret). Empty
	// for every other credential.
	SecretSealed string `gorm:"type:text;not null;default:''"`
	// ProjectIDs are the owners (Webhook.Owner) a credential may manage, for dialects whose
	// credentials are bound to a list of them given when minted.
	ProjectIDs []string `gorm:"type:text;serializer:json"`
	// UserPoolID is the one owner a credential manages, for dialects that create the owner
	// with the credential.
	UserPoolID string    `gorm:"size:64;not null;default:''"`
	CreatedAt  time.Time `gorm:"not null"`
}

// Setting is one gateway-wide value, such as the admin token's hash.
type Setting struct {
	Key   string `gorm:"primaryKey;size:64"`
	Value string `gorm:"type:text;not null"`
}
