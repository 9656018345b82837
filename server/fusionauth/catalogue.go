package fusionauth

// Name is the dialect's name, as in store.Webhook.Dialect and the native API.
const Name = "fusionauth"

// catalogue is the dialect's column of the event catalogue (delivery.Catalogue): its names
// for each canonical event it has an equivalent of, the first the one a webhook gets when
// it subscribes to none of the others.
var catalogue = map[string][]string{
	"user.created":            {"user.create", "user.create.complete"},
	"user.registered":         {"user.registration.create"},
	"user.verified_complete":  {"user.registration.verified"},
	"user.login.succeeded":    {"user.login.success"},
	"user.login.failed":       {"user.login.failed"},
	"user.login.suspicious":   {"user.login.suspicious", "user.login.new-device"},
	"user.email.verified":     {"user.email.verified", "user.identity.verified"},
	"user.email.changed":      {"user.email.update"},
	"user.social.linked":      {"user.identity-provider.link"},
	"user.social.unlinked":    {"user.identity-provider.unlink"},
	"user.updated":            {"user.update", "user.update.complete"},
	"user.deleted":            {"user.delete", "user.delete.complete"},
	"user.disabled":           {"user.deactivate"},
	"user.enabled":            {"user.reactivate"},
	"user.password.changed":   {"user.password.update"},
	"user.password.reset":     {"user.password.reset.success", "user.password.reset.start", "user.password.reset.send"},
	"user.password.breached":  {"user.password.breach"},
	"user.mfa.verified":       {"user.two-factor.success", "user.two-factor.failed-attempt"},
	"user.mfa.method_changed": {"user.two-factor.method.add", "user.two-factor.method.remove"},
	"token.refreshed":         {"jwt.refresh"},
	"session.revoked":         {"jwt.refresh-token.revoke"},
	"group.created":           {"group.create"},
	"group.updated":           {"group.update"},
	"group.deleted":           {"group.delete"},
	"group.member.added":      {"group.member.add"},
	"group.member.removed":    {"group.member.remove"},
	"org.created":             {"entity.create"},
	"webhook.test":            {"test"},
}

// Events is the dialect's column of the event catalogue.
func (*Encoder) Events() map[string][]string { return catalogue }

// SecretHeaders are the headers of Encode whose values are secrets.
func (*Encoder) SecretHeaders() []string { return []string{"X-FusionAuth-Signature-JWT"} }
