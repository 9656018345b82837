package delivery

import "encoding/json"

// Canonical is one event of the catalogue, under the name it is published with.
type Canonical struct {
	Name        string
	Description string
}

// Catalogue names every canonical event once. Each dialect supplies its own column of it
// (Encoder.Events): the native names it has for each canonical event. A dialect with no
// name for an event has no equivalent: the event is not delivered to its subscribers.
// Publishing "<dialect>:<native name>" reaches that dialect's subscribers under exactly
// that name, and the other dialects' subscribers under their names for the canonical
// event the native name belongs to.
var Catalogue = []Canonical{
	{"user.created", "A user was created (sign-up, admin creation or import)."},
	{"user.registered", "A user signed up to an application."},
	{"user.verified_complete", "A user completed every verification step."},
	{"user.login.succeeded", "A user signed in."},
	{"user.login.failed", "A sign-in failed."},
	{"user.login.suspicious", "A sign-in looked suspicious or came from a new device."},
	{"user.email.verified", "A user verified their email address."},
	{"user.email.changed", "A user's email address changed."},
	{"user.social.linked", "A social or external identity was linked to a user."},
	{"user.social.unlinked", "An external identity was unlinked."},
	{"user.updated", "A user was updated."},
	{"user.deleted", "A user was deleted."},
	{"user.disabled", "A user was deactivated or blocked."},
	{"user.enabled", "A user was reactivated or unblocked."},
	{"user.password.changed", "A user's password changed."},
	{"user.password.reset", "A password reset started, was sent or succeeded."},
	{"user.password.breached", "A user's password was found in a breach."},
	{"user.mfa.verified", "A second factor was checked."},
	{"user.mfa.method_changed", "A second-factor method was added or removed."},
	{"token.refreshed", "A refresh token was used."},
	{"session.revoked", "A session or refresh token was revoked."},
	{"group.created", "A group was created."},
	{"group.updated", "A group was updated."},
	{"group.deleted", "A group was deleted."},
	{"group.member.added", "A member joined a group."},
	{"group.member.removed", "A member left a group."},
	{"membership.request.rejected", "A request to join was rejected."},
	{"org.created", "An organisation was created."},
	{"org.creation.rejected", "An organisation's creation was rejected."},
	{"webhook.test", "A test event."},
	// The gateway's own events (opevents.go): only it publishes them.
	{EventWebhookFailing, "A webhook's endpoint failed for the first time since it last succeeded (once per run of failures)."},
	{EventWebhookRecovered, "A failing webhook's endpoint succeeded again."},
	{EventWebhookDisabled, "The gateway disabled a webhook (it answered 410, or failed for --disable-after), with the reason."},
	{EventDeliveryExhausted, "The gateway gave up a delivery (its attempts ran out, or its endpoint refused it for good)."},
}

var catalogueByName = func() map[string]*Canonical {
	m := map[string]*Canonical{}
	for i := range Catalogue {
		m[Catalogue[i].Name] = &Catalogue[i]
	}
	return m
}()

// Entry is one canonical event and its names in each registered dialect. The first name
// of a dialect is the one it is delivered under when a webhook subscribes to none of the
// others.
type Entry struct {
	Canonical   string
	Description string
	Names       map[string][]string
	// Schema is the JSON Schema of the event's data.
	Schema json.RawMessage
}
