package fusionauth

// eventTypes are FusionAuth's event types (the EventType enum of the official client
// 1.69.0); eventsEnabled accepts these keys and no others.
var eventTypes = map[string]bool{}

func init() {
	for _, t := range []string{
		"audit-log.create", "event-log.create", "kickstart.success",
		"jwt.public-key.update", "jwt.refresh", "jwt.refresh-token.revoke",
		"group.create", "group.create.complete", "group.update", "group.update.complete", "group.delete", "group.delete.complete",
		"group.member.add", "group.member.add.complete", "group.member.remove", "group.member.remove.complete", "group.member.update", "group.member.update.complete",
		"entity.create", "entity.create.complete", "entity.update", "entity.update.complete", "entity.delete", "entity.delete.complete",
		"user.action", "user.bulk.create", "user.create", "user.create.complete", "user.update", "user.update.complete",
		"user.delete", "user.delete.complete", "user.deactivate", "user.reactivate",
		"user.email.update", "user.email.verified", "user.identity.verified", "user.identity.update",
		"user.identity-provider.link", "user.identity-provider.unlink",
		"user.loginId.duplicate.create", "user.loginId.duplicate.update",
		"user.login.success", "user.login.failed", "user.login.new-device", "user.login.suspicious",
		"user.password.breach", "user.password.reset.send", "user.password.reset.start", "user.password.reset.success", "user.password.update",
		"user.registration.create", "user.registration.create.complete", "user.registration.update", "user.registration.update.complete",
		"user.registration.delete", "user.registration.delete.complete", "user.registration.verified",
		"user.two-factor.method.add", "user.two-factor.method.remove", "user.two-factor.challenge", "user.two-factor.success", "user.two-factor.failed-attempt",
		"test",
	} {
		eventTypes[t] = true
	}
}
