package nursa

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/nursaapi"
	"github.com/polyhook/polyhook/server"
)

var eventNames = []string{"all", "facility.user-connection.accepted", "facility.user-connection.rejected", "facility.creation.accepted", "facility.creation.rejected"}

// Validation messages, as class-validator writes them for Nursa's DTO.
var (
	msgHTTPS        = "should be a secure URL with HTTPS"
	msgURLString    = "url must be a string"
	msgEventsMin    = "events must contain at least 1 elements"
	msgEventsArray  = "events must be an array"
	msgEventsIn     = "each value in events must be one of the following values: " + strings.Join(eventNames, ", ")
	msgSecretsMax   = "secrets must contain no more than 2 elements"
	msgSecretsArray = "secrets must be an array"
	msgSecretString = "each value in secrets must be a string"
)

// body is a request body as loosely typed JSON, so that each field can be checked the way
// class-validator checks it, collecting every message.
type body map[string]json.RawMessage

func readBody(c echo.Context) (body, error) {
	raw, err := server.ReadBody(c)
	if err != nil {
		return nil, err
	}
	var b body
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&b); err != nil || b == nil {
		if len(bytes.TrimSpace(raw)) == 0 {
			return body{}, nil // an empty body validates as an empty object
		}
		if msg := nodeJSONError(raw); msg != "" {
			return nil, &httpError{status: 400, message: msg} // as NestJS answers malformed JSON
		}
		return nil, &httpError{status: 400, message: fmt.Sprintf("Unexpected token in JSON at position %d", dec.InputOffset())}
	}
	return b, nil
}

// validateURL checks url; required says whether it must be present.
func (b body) validateURL(msgs []string, required bool) ([]string, *string) {
	raw, ok := b["url"]
	if !ok || string(raw) == "null" {
		if required {
			msgs = append(msgs, msgHTTPS, msgURLString)
		}
		return msgs, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return append(msgs, msgHTTPS, msgURLString), nil
	}
	if u, err := url.Parse(s); err != nil || u.Scheme != "https" || u.Host == "" || u.Hostname() == "" || strings.ContainsAny(s, " \t\r\n") {
		return append(msgs, msgHTTPS), nil
	}
	return msgs, &s
}

func (b body) validateEvents(msgs []string) ([]string, *[]api.Event) {
	raw, ok := b["events"]
	if !ok || string(raw) == "null" {
		return append(msgs, msgEventsMin, msgEventsArray, msgEventsIn), nil
	}
	var list []any
	if err := json.Unmarshal(raw, &list); err != nil {
		// Not an array: class-validator checks the value itself against the enum.
		var one any
		_ = json.Unmarshal(raw, &one)
		msgs = append(msgs, msgEventsMin, msgEventsArray)
		if s, ok := one.(string); !ok || !isEvent(s) {
			msgs = append(msgs, msgEventsIn)
		}
		return msgs, nil
	}
	bad := len(list) == 0
	if len(list) == 0 {
		msgs = append(msgs, msgEventsMin)
	}
	out := make([]api.Event, 0, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok || !isEvent(s) {
			msgs, bad = append(msgs, msgEventsIn), true
			break
		}
		out = append(out, api.Event(s))
	}
	if bad {
		return msgs, nil
	}
	return msgs, &out
}

func (b body) validateSecrets(msgs []string) ([]string, *[]string) {
	raw, ok := b["secrets"]
	if !ok || string(raw) == "null" {
		return msgs, nil // optional
	}
	var list []any
	if err := json.Unmarshal(raw, &list); err != nil {
		return append(msgs, msgSecretsMax, msgSecretsArray), nil
	}
	bad := false
	if len(list) > 2 {
		msgs, bad = append(msgs, msgSecretsMax), true
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			msgs, bad = append(msgs, msgSecretString), true
			break
		}
		out = append(out, s)
	}
	if bad {
		return msgs, nil
	}
	return msgs, &out
}

func isEvent(s string) bool {
	for _, e := range eventNames {
		if e == s {
			return true
		}
	}
	return false
}

func decodeCreate(c echo.Context) (*api.CreateWebhook, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	var msgs []string
	var out api.CreateWebhook
	var u *string
	var es *[]api.Event
	msgs, u = b.validateURL(msgs, true)
	msgs, es = b.validateEvents(msgs)
	msgs, out.Secrets = b.validateSecrets(msgs)
	if len(msgs) > 0 {
		return nil, validationError(msgs)
	}
	out.Url, out.Events = *u, *es
	return &out, nil
}

// decodeUpdate validates a PATCH body: events are required (and replace the list), url
// and secrets are optional.
func decodeUpdate(c echo.Context) (*api.UpdateWebhook, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	var msgs []string
	var out api.UpdateWebhook
	var es *[]api.Event
	msgs, out.Url = b.validateURL(msgs, false)
	msgs, es = b.validateEvents(msgs)
	msgs, out.Secrets = b.validateSecrets(msgs)
	if len(msgs) > 0 {
		return nil, validationError(msgs)
	}
	out.Events = *es
	return &out, nil
}
