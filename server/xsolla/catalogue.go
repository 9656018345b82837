package xsolla

// Name is the dialect's name, as in store.Webhook.Dialect and the native API.
const Name = "xsolla"

// catalogue is the dialect's column of the event catalogue (delivery.Catalogue): its names
// for each canonical event it has an equivalent of, the first the one a webhook gets when
// it subscribes to none of the others.
var catalogue = map[string][]string{
	"user.created":           {"registration"},
	"user.registered":        {"registration"},
	"user.verified_complete": {"new_verified_user"},
	"user.login.succeeded":   {"authorization"},
	"user.email.verified":    {"email_confirmation"},
	"user.social.linked":     {"link_social_account"},
}

// Events is the dialect's column of the event catalogue.
func (Encoder) Events() map[string][]string { return catalogue }

// SecretHeaders are the headers of Encode whose values are secrets.
func (Encoder) SecretHeaders() []string { return nil }
