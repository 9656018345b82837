package authing

import "strings"

// eventNames are the events an Authing webhook can subscribe to (CreateWebhookDto.events
// of the V3 management API, plus refresh-token from the Node SDK 4.0.1).
var eventNames = strings.Fields(`test register login mfa:verified kick refresh-token unusual-location:login
user:created user:updated user:deleted user:password-changed user:password-update-remind user:email-verified
user:archived user:unarchived user:blocked user:unblocked user:register-whitelist-added user:register-whitelist-deleted
user:udv-changed user:link-account user:organization-node-update
permission:add permission:revoke resource:created resource:updated resource:delete
role:created role:updated role:deleted role:disable role:assigned role:unassigned role:udv-changed subject:remove
application:created application:updated application:deleted application:secret-refreshed application:mfa:enabled application:mfa:disabled
group:created group:updated group:deleted group:member-added group:member-removed
organization:created organization:imported organization:deleted organization:node-added organization:node-updated organization:tree-updated organization:node-deleted organization:node-moved organization:member-added organization:member-removed organization:udv-changed
privilege-namespace:created privilege-namespace:updated privilege-namespace:deleted
user-pool:cooperator-added user-pool:cooperator-removed user-pool:secret-refreshed user-pool:updated user-pool:udf-added user-pool:udf-deleted user-pool:env-added user-pool:env-deleted user-pool:env-updated user-pool:launchpad-app-installed user-pool:launchpad-app-uninstalled
data-resource:created data-resource:updated data-resource:deleted data-strategy-permission:add data-strategy-permission:revoke`)

var knownEvents = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range eventNames {
		m[e] = true
	}
	return m
}()

// category is the part of an event name before its first colon; the events without one
// are about users, except the test event.
func category(event string) string {
	if c, _, ok := strings.Cut(event, ":"); ok {
		if c == "unusual-location" || c == "mfa" {
			return "user"
		}
		return c
	}
	if event == "test" {
		return "test"
	}
	return "user"
}
