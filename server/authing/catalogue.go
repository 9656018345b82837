package authing

import "time"

// Name is the dialect's name, as in store.Webhook.Dialect and the native API.
const Name = "authing"

// catalogue is the dialect's column of the event catalogue (delivery.Catalogue): its names
// for each canonical event it has an equivalent of, the first the one a webhook gets when
// it subscribes to none of the others.
var catalogue = map[string][]string{
	"user.created":          {"user:created", "register"},
	"user.registered":       {"register"},
	"user.login.succeeded":  {"login"},
	"user.login.failed":     {"login"},
	"user.login.suspicious": {"unusual-location:login"},
	"user.email.verified":   {"user:email-verified"},
	"user.email.changed":    {"user:updated"},
	"user.social.linked":    {"user:link-account"},
	"user.updated":          {"user:updated", "user:udv-changed"},
	"user.deleted":          {"user:deleted"},
	"user.disabled":         {"user:blocked", "user:archived"},
	"user.enabled":          {"user:unblocked", "user:unarchived"},
	"user.password.changed": {"user:password-changed"},
	"user.mfa.verified":     {"mfa:verified"},
	"token.refreshed":       {"refresh-token"},
	"session.revoked":       {"kick"},
	"group.created":         {"group:created"},
	"group.updated":         {"group:updated"},
	"group.deleted":         {"group:deleted"},
	"group.member.added":    {"group:member-added", "organization:member-added"},
	"group.member.removed":  {"group:member-removed", "organization:member-removed"},
	"org.created":           {"organization:created"},
	"webhook.test":          {"test"},
}

// Events is the dialect's column of the event catalogue.
func (Encoder) Events() map[string][]string { return catalogue }

// SecretHeaders are the headers of Encode whose values are secrets.
func (Encoder) SecretHeaders() []string {
	return []string{"X-Authing-Webhook-Secret", "X-Authing-Token"}
}

// RetryUnit is one unit of retryConfig's delayUnit; Authing's default is the minute.
func (Encoder) RetryUnit(unit string) time.Duration {
	switch unit {
	case "Second":
		return time.Second
	case "Minute":
		return time.Minute
	case "Hour":
		return time.Hour
	case "Day":
		return 24 * time.Hour
	}
	return 0
}
