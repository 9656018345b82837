package delivery

// Entry is one canonical event and its names in each dialect. The first name of a dialect
// is the one it is delivered under when a webhook subscribes to none of the others.
type Entry struct {
	Canonical   string
	Description string
	Names       map[string][]string
}

// Catalogue names every canonical event once and maps it to each dialect's native names
// (vendors.md §6). A dialect missing from an entry has no equivalent: the event is not
// delivered to its subscribers. Publishing "<dialect>:<native name>" reaches that
// dialect's subscribers under exactly that name, and the other dialects' subscribers
// under the equivalents listed here.
var Catalogue = []Entry{
	{"user.created", "A user was created (sign-up, admin creation or import).", map[string][]string{
		"fusionauth": {"user.create", "user.create.complete"}, "xsolla": {"registration"}, "authing": {"user:created", "register"}}},
	{"user.registered", "A user signed up to an application.", map[string][]string{
		"fusionauth": {"user.registration.create"}, "xsolla": {"registration"}, "authing": {"register"}}},
	{"user.verified_complete", "A user completed every verification step.", map[string][]string{
		"fusionauth": {"user.registration.verified"}, "xsolla": {"new_verified_user"}}},
	{"user.login.succeeded", "A user signed in.", map[string][]string{
		"fusionauth": {"user.login.success"}, "xsolla": {"authorization"}, "authing": {"login"}}},
	{"user.login.failed", "A sign-in failed.", map[string][]string{
		"fusionauth": {"user.login.failed"}, "authing": {"login"}}},
	{"user.login.suspicious", "A sign-in looked suspicious or came from a new device.", map[string][]string{
		"fusionauth": {"user.login.suspicious", "user.login.new-device"}, "authing": {"unusual-location:login"}}},
	{"user.email.verified", "A user verified their email address.", map[string][]string{
		"fusionauth": {"user.email.verified", "user.identity.verified"}, "xsolla": {"email_confirmation"}, "authing": {"user:email-verified"}}},
	{"user.email.changed", "A user's email address changed.", map[string][]string{
		"fusionauth": {"user.email.update"}, "authing": {"user:updated"}}},
	{"user.social.linked", "A social or external identity was linked to a user.", map[string][]string{
		"fusionauth": {"user.identity-provider.link"}, "xsolla": {"link_social_account"}, "authing": {"user:link-account"}}},
	{"user.social.unlinked", "An external identity was unlinked.", map[string][]string{
		"fusionauth": {"user.identity-provider.unlink"}}},
	{"user.updated", "A user was updated.", map[string][]string{
		"fusionauth": {"user.update", "user.update.complete"}, "authing": {"user:updated", "user:udv-changed"}}},
	{"user.deleted", "A user was deleted.", map[string][]string{
		"fusionauth": {"user.delete", "user.delete.complete"}, "authing": {"user:deleted"}}},
	{"user.disabled", "A user was deactivated or blocked.", map[string][]string{
		"fusionauth": {"user.deactivate"}, "authing": {"user:blocked", "user:archived"}}},
	{"user.enabled", "A user was reactivated or unblocked.", map[string][]string{
		"fusionauth": {"user.reactivate"}, "authing": {"user:unblocked", "user:unarchived"}}},
	{"user.password.changed", "A user's password changed.", map[string][]string{
		"fusionauth": {"user.password.update"}, "authing": {"user:password-changed"}}},
	{"user.password.reset", "A password reset started, was sent or succeeded.", map[string][]string{
		"fusionauth": {"user.password.reset.success", "user.password.reset.start", "user.password.reset.send"}}},
	{"user.password.breached", "A user's password was found in a breach.", map[string][]string{
		"fusionauth": {"user.password.breach"}}},
	{"user.mfa.verified", "A second factor was checked.", map[string][]string{
		"fusionauth": {"user.two-factor.success", "user.two-factor.failed-attempt"}, "authing": {"mfa:verified"}}},
	{"user.mfa.method_changed", "A second-factor method was added or removed.", map[string][]string{
		"fusionauth": {"user.two-factor.method.add", "user.two-factor.method.remove"}}},
	{"token.refreshed", "A refresh token was used.", map[string][]string{
		"fusionauth": {"jwt.refresh"}, "authing": {"refresh-token"}}},
	{"session.revoked", "A session or refresh token was revoked.", map[string][]string{
		"fusionauth": {"jwt.refresh-token.revoke"}, "authing": {"kick"}}},
	{"group.created", "A group was created.", map[string][]string{
		"fusionauth": {"group.create"}, "authing": {"group:created"}}},
	{"group.updated", "A group was updated.", map[string][]string{
		"fusionauth": {"group.update"}, "authing": {"group:updated"}}},
	{"group.deleted", "A group was deleted.", map[string][]string{
		"fusionauth": {"group.delete"}, "authing": {"group:deleted"}}},
	{"group.member.added", "A member joined a group (Nursa: a user was granted access to a facility).", map[string][]string{
		"fusionauth": {"group.member.add"}, "authing": {"group:member-added", "organization:member-added"}, "nursa": {"facility.user-connection.accepted"}}},
	{"group.member.removed", "A member left a group.", map[string][]string{
		"fusionauth": {"group.member.remove"}, "authing": {"group:member-removed", "organization:member-removed"}}},
	{"membership.request.rejected", "A request to join was rejected.", map[string][]string{
		"nursa": {"facility.user-connection.rejected"}}},
	{"org.created", "An organisation was created (Nursa: a facility was accepted).", map[string][]string{
		"fusionauth": {"entity.create"}, "authing": {"organization:created"}, "nursa": {"facility.creation.accepted"}}},
	{"org.creation.rejected", "An organisation's creation was rejected.", map[string][]string{
		"nursa": {"facility.creation.rejected"}}},
	{"webhook.test", "A test event.", map[string][]string{
		"fusionauth": {"test"}, "authing": {"test"}}},
}

var catalogueByName = func() map[string]*Entry {
	m := map[string]*Entry{}
	for i := range Catalogue {
		m[Catalogue[i].Canonical] = &Catalogue[i]
	}
	return m
}()

// canonicalOf finds the entry that lists native as one of dialect's names.
func canonicalOf(dialect, native string) *Entry {
	for i := range Catalogue {
		for _, n := range Catalogue[i].Names[dialect] {
			if n == native {
				return &Catalogue[i]
			}
		}
	}
	return nil
}
