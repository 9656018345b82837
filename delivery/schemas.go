package delivery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/polyhook/polyhook/store"
)

// The JSON Schemas of the catalogue's events' data. They name what the canonical events
// carry and leave the rest open (publishers may send more); GET /v1/event-types shows
// them and the gateway checks published data against them with --validate-events.

// Shapes the schemas are built from.
const (
	userShape  = `{"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "minLength": 1}, "email": {"type": "string"}, "username": {"type": "string"}, "tenantId": {"type": "string"}}}`
	groupShape = `{"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "minLength": 1}, "name": {"type": "string"}}}`
	orgShape   = `{"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "minLength": 1}, "name": {"type": "string"}}}`
	// webhookShape is the webhook an operator event is about.
	webhookShape  = `{"type": "object", "required": ["id", "dialect", "tenant"], "properties": {"id": {"type": "string", "minLength": 1}, "dialect": {"type": "string"}, "tenant": {"type": "string"}}}`
	deliveryShape = `{"type": "object", "required": ["id", "eventId", "lastStatus"], "properties": {"id": {"type": "string", "minLength": 1}, "eventId": {"type": "string"}, "eventType": {"type": "string"}, "eventName": {"type": "string"}, "attempts": {"type": "integer"}, "lastStatus": {"type": "integer"}, "lastError": {"type": "string"}}}`
	timeShape     = `{"type": "string", "format": "date-time"}`
)

// dataSchema is the schema of an object with the given required and optional properties.
func dataSchema(required []string, props map[string]string) string {
	var b strings.Builder
	b.WriteString(`{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"`)
	if len(required) > 0 {
		r, _ := json.Marshal(required)
		fmt.Fprintf(&b, `, "required": %s`, r)
	}
	b.WriteString(`, "properties": {`)
	first := true
	for _, k := range sortedKeys(props) {
		if !first {
			b.WriteString(", ")
		}
		first = false
		fmt.Fprintf(&b, "%q: %s", k, props[k])
	}
	b.WriteString("}}")
	var out bytes.Buffer
	if err := json.Compact(&out, []byte(b.String())); err != nil {
		panic(err)
	}
	return out.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

var (
	userData   = dataSchema([]string{"user"}, map[string]string{"user": userShape})
	groupData  = dataSchema([]string{"group"}, map[string]string{"group": groupShape})
	memberData = dataSchema([]string{"group", "user"}, map[string]string{"group": groupShape, "user": userShape})
	orgData    = dataSchema([]string{"org"}, map[string]string{"org": orgShape})
	anyData    = dataSchema(nil, nil)
)

// schemaOf names the schema of each canonical event's data.
var schemaOf = map[string]string{
	"user.login.failed":           dataSchema(nil, map[string]string{"user": userShape, "reason": `{"type": "string"}`, "ipAddress": `{"type": "string"}`}),
	"user.login.suspicious":       dataSchema([]string{"user"}, map[string]string{"user": userShape, "ipAddress": `{"type": "string"}`}),
	"user.login.succeeded":        dataSchema([]string{"user"}, map[string]string{"user": userShape, "ipAddress": `{"type": "string"}`, "applicationId": `{"type": "string"}`}),
	"user.email.changed":          dataSchema([]string{"user"}, map[string]string{"user": userShape, "previousEmail": `{"type": "string"}`}),
	"user.social.linked":          dataSchema([]string{"user"}, map[string]string{"user": userShape, "provider": `{"type": "string"}`}),
	"user.social.unlinked":        dataSchema([]string{"user"}, map[string]string{"user": userShape, "provider": `{"type": "string"}`}),
	"user.mfa.verified":           dataSchema([]string{"user"}, map[string]string{"user": userShape, "method": `{"type": "string"}`, "success": `{"type": "boolean"}`}),
	"user.mfa.method_changed":     dataSchema([]string{"user"}, map[string]string{"user": userShape, "method": `{"type": "string"}`, "action": `{"enum": ["added", "removed"]}`}),
	"token.refreshed":             dataSchema(nil, map[string]string{"user": userShape, "applicationId": `{"type": "string"}`}),
	"session.revoked":             dataSchema(nil, map[string]string{"user": userShape, "applicationId": `{"type": "string"}`}),
	"group.created":               groupData,
	"group.updated":               groupData,
	"group.deleted":               groupData,
	"group.member.added":          memberData,
	"group.member.removed":        memberData,
	"membership.request.rejected": dataSchema([]string{"user"}, map[string]string{"group": groupShape, "org": orgShape, "user": userShape, "reason": `{"type": "string"}`}),
	"org.created":                 orgData,
	"org.creation.rejected":       dataSchema([]string{"org"}, map[string]string{"org": orgShape, "reason": `{"type": "string"}`}),
	"webhook.test":                anyData,
	EventWebhookFailing: dataSchema([]string{"webhook", "failingSince", "lastStatus"}, map[string]string{"webhook": webhookShape,
		"failingSince": timeShape, "lastStatus": `{"type": "integer"}`, "lastError": `{"type": "string"}`}),
	EventWebhookRecovered:  dataSchema([]string{"webhook"}, map[string]string{"webhook": webhookShape, "failingSince": timeShape}),
	EventWebhookDisabled:   dataSchema([]string{"webhook", "reason"}, map[string]string{"webhook": webhookShape, "reason": `{"type": "string"}`, "failingSince": timeShape}),
	EventDeliveryExhausted: dataSchema([]string{"webhook", "delivery"}, map[string]string{"webhook": webhookShape, "delivery": deliveryShape}),
}

// Schema returns the JSON Schema of the data of the canonical event name, or "" for a name
// outside the catalogue.
func Schema(name string) string {
	if s, ok := schemaOf[name]; ok {
		return s
	}
	if strings.HasPrefix(name, "user.") && IsCanonical(name) {
		return userData
	}
	if _, ok := catalogueByName[name]; ok {
		return anyData
	}
	return ""
}

// compiledSchemas holds each canonical event's schema compiled, once.
var compiledSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	out := map[string]*jsonschema.Schema{}
	for _, ev := range Catalogue {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(Schema(ev.Name)))
		if err != nil {
			return nil, err
		}
		url := "polyhook:/events/" + ev.Name
		if err := c.AddResource(url, doc); err != nil {
			return nil, err
		}
		if out[ev.Name], err = c.Compile(url); err != nil {
			return nil, err
		}
	}
	return out, nil
})

var english = message.NewPrinter(language.English)

// ValidatesEvents reports whether published data is to be checked (Config.ValidateEvents).
func (e *Engine) ValidatesEvents() bool { return e.cfg.ValidateEvents }

// ValidateData checks data (a JSON object) against the schema of the canonical event
// eventType, or of the canonical event a "<dialect>:<name>" stands for; other names pass.
// It returns EUNPROCESSABLE naming the first failing path ("data.user.id").
func (e *Engine) ValidateData(eventType string, data []byte) error {
	canonical := e.canonicalOf(eventType)
	schemas, err := compiledSchemas()
	if err != nil {
		return err
	}
	sch, ok := schemas[canonical]
	if !ok {
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil // Publish answers it
	}
	verr, ok := sch.Validate(doc).(*jsonschema.ValidationError)
	if !ok {
		return nil
	}
	for len(verr.Causes) > 0 {
		verr = verr.Causes[0]
	}
	path := strings.Join(append([]string{"data"}, verr.InstanceLocation...), ".")
	return store.Errorf(store.EUNPROCESSABLE, "%s: %s (the schema of %s at GET /v1/event-types).", path, verr.ErrorKind.LocalizedString(english), canonical)
}

// canonicalOf returns the canonical event typ is, or stands for ("<dialect>:<name>"); ""
// when it has none.
func (e *Engine) canonicalOf(typ string) string {
	if _, ok := catalogueByName[typ]; ok {
		return typ
	}
	dialect, native, ok := strings.Cut(typ, ":")
	if !ok {
		return ""
	}
	if enc, ok := e.encoders[dialect]; ok && canonical(enc) && IsCanonical(native) {
		return native
	}
	if c := e.natives[dialect][native]; c != nil {
		return c.Name
	}
	return ""
}
