package nursa

// Name is the dialect's name, as in store.Webhook.Dialect and the native API.
const Name = "nursa"

// catalogue is the dialect's column of the event catalogue (delivery.Catalogue): its names
// for each canonical event it has an equivalent of, the first the one a webhook gets when
// it subscribes to none of the others.
var catalogue = map[string][]string{
	"group.member.added":          {"facility.user-connection.accepted"},
	"membership.request.rejected": {"facility.user-connection.rejected"},
	"org.created":                 {"facility.creation.accepted"},
	"org.creation.rejected":       {"facility.creation.rejected"},
}

// Events is the dialect's column of the event catalogue.
func (Encoder) Events() map[string][]string { return catalogue }

// SecretHeaders are the headers of Encode whose values are secrets.
func (Encoder) SecretHeaders() []string { return []string{"Nursa-Signature"} }
