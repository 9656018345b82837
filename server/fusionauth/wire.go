package fusionauth

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	api "github.com/polyhook/polyhook/gen/fusionauthapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// extraEventsDisabled keeps the eventsEnabled keys a client set to false, so that the map
// round-trips exactly; only the true ones are subscriptions.
const extraEventsDisabled = "eventsDisabled"

// Limits FusionAuth enforces on webhook fields.
const (
	maxDescription = 255
	maxCredential  = 255
	maxLargeField  = 32768
)

// decodeWebhook decodes a {"webhook": {...}} request body. Malformed JSON and values of
// the wrong type are FusionAuth's [invalidJSON] errors; a body without a webhook is
// [missing]webhook.
func decodeWebhook(body []byte) (*api.Webhook, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fieldError("webhook", "missing", "Your request is missing the Webhook information as JSON in the entity-body.")
	}
	var req api.WebhookRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	if req.Webhook == nil {
		return nil, fieldError("webhook", "missing", "Your request is missing the Webhook information as JSON in the entity-body.")
	}
	return req.Webhook, nil
}

// decodeJSON decodes one JSON value into v, keeping numbers in free-form objects exact.
// Like FusionAuth's Jackson, it refuses a body nested deeper than 1,000 levels.
func decodeJSON(body []byte, v any) error {
	if server.Nesting(body, server.MaxNesting) > server.MaxNesting {
		return generalError("invalidJSON", fmt.Sprintf("Invalid JSON in the request body. The document is nested deeper than the maximum allowed (%d).", server.MaxNesting))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return generalError("invalidJSON", "Invalid JSON in the request body. The request body contains more than one JSON value.")
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		var s errorSet
		s.fieldCode(te.Field, "[invalidJSON]", fmt.Sprintf(
			"Invalid JSON in the request body. The property was [%s]. The error was [Possible conversion error]. The detailed exception was [Cannot deserialize value of type `%s` from JSON %s].",
			te.Field, te.Type, te.Value))
		return s.err()
	}
	return generalError("invalidJSON", "Invalid JSON in the request body. "+jsonProblem(err))
}

// jsonProblem describes a decoding error without echoing the request.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("The JSON is malformed at offset %d: %s.", se.Offset, se.Error())
	case errors.As(err, &te):
		return fmt.Sprintf("Expected %s but found JSON %s.", te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "The JSON ends unexpectedly."
	}
	return "The error was [" + err.Error() + "]."
}

// validate checks w as FusionAuth's webhook validator does, collecting every error.
func validate(w *api.Webhook) error {
	var s errorSet
	switch {
	case w.Url == nil || strings.TrimSpace(*w.Url) == "":
		s.field("webhook.url", "missing", "You must specify the [url] property.")
	case !isAbsoluteHTTPURL(*w.Url):
		s.field("webhook.url", "invalid", "The [url] property must be an absolute http or https URL.")
	}
	for _, t := range []struct {
		name string
		v    *int32
	}{{"connectTimeout", w.ConnectTimeout}, {"readTimeout", w.ReadTimeout}} {
		switch {
		case t.v == nil:
			s.field("webhook."+t.name, "missing", fmt.Sprintf("You must specify the [%s] property.", t.name))
		case *t.v <= 0:
			s.field("webhook."+t.name, "invalid", fmt.Sprintf("The [%s] property must be greater than 0.", t.name))
		}
	}
	if w.Description != nil && utf8.RuneCountInString(*w.Description) > maxDescription {
		s.field("webhook.description", "tooLong", fmt.Sprintf("The [description] property is longer than the maximum of [%d] characters.", maxDescription))
	}
	if w.EventsEnabled != nil {
		var unknown []string
		for k := range *w.EventsEnabled {
			if !eventTypes[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			s.fieldCode("webhook.eventsEnabled", "[invalidJSON]", fmt.Sprintf(
				"Invalid JSON in the request body. The property was [webhook.eventsEnabled]. The error was [Possible conversion error]. The detailed exception was [Unknown event type %q].",
				unknown))
		}
	}
	if w.Global != nil && *w.Global && w.TenantIds != nil && len(*w.TenantIds) > 0 {
		s.field("webhook.tenantIds", "invalid", "The [tenantIds] property must be empty when [global] is true.")
	}
	// Header names are stored and echoed as written, "Header 1" included, as FusionAuth
	// does; a name or value HTTP cannot carry is left out at delivery (and named in the
	// attempt's record), not refused here.
	if w.Headers != nil {
		if b, _ := json.Marshal(*w.Headers); len(b) > maxLargeField {
			s.field("webhook.headers", "tooLong", fmt.Sprintf("The [headers] property is longer than the maximum of [%d] characters when serialized.", maxLargeField))
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"httpAuthenticationUsername", w.HttpAuthenticationUsername}, {"httpAuthenticationPassword", w.HttpAuthenticationPassword}} {
		if f.v != nil && utf8.RuneCountInString(strings.TrimSpace(*f.v)) > maxCredential {
			s.field("webhook."+f.name, "tooLong", fmt.Sprintf("The [%s] property is longer than the maximum of [%d] characters.", f.name, maxCredential))
		}
	}
	if w.SslCertificate != nil && strings.TrimSpace(*w.SslCertificate) != "" {
		cert := strings.TrimSpace(*w.SslCertificate)
		switch {
		case len(cert) > maxLargeField:
			s.field("webhook.sslCertificate", "tooLong", fmt.Sprintf("The [sslCertificate] property is longer than the maximum of [%d] characters.", maxLargeField))
		case !isPEMCertificate(cert):
			s.field("webhook.sslCertificate", "invalid", "The [sslCertificate] property must be a PEM encoded X.509 certificate.")
		case w.SslCertificateKeyId != nil:
			s.field("webhook.sslCertificate", "notMissing", "You cannot specify both the [sslCertificate] and the [sslCertificateKeyId] properties.")
		}
	}
	if sc := w.SignatureConfiguration; sc != nil && sc.Enabled != nil && *sc.Enabled && sc.SigningKeyId == nil {
		s.field("webhook.signatureConfiguration.signingKeyId", "missing", "You must specify the [signatureConfiguration.signingKeyId] property when signing is enabled.")
	}
	return s.err()
}

func isAbsoluteHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != ""
}

func isPEMCertificate(s string) bool {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" {
		return false
	}
	_, err := x509.ParseCertificate(block.Bytes)
	return err == nil
}

// toStore maps a validated wire webhook onto the shared model. into carries the stored
// identity (ids, creation time) when updating; its other fields are replaced.
func toStore(w *api.Webhook, into *store.Webhook) *store.Webhook {
	out := &store.Webhook{
		ID:         into.ID,
		Dialect:    Name,
		ExternalID: into.ExternalID,
		CreatedAt:  into.CreatedAt,
		Enabled:    true,
		URL:        *w.Url,
	}
	out.ConnectTimeout = int(*w.ConnectTimeout)
	out.ReadTimeout = int(*w.ReadTimeout)
	if w.Description != nil {
		out.Description = *w.Description
	}
	if w.EventsEnabled != nil {
		var on, off []string
		for k, v := range *w.EventsEnabled {
			if v {
				on = append(on, k)
			} else {
				off = append(off, k)
			}
		}
		sort.Strings(on)
		sort.Strings(off)
		out.Events = on
		if len(off) > 0 {
			out.Extra = map[string]any{extraEventsDisabled: off}
		}
	}
	if w.Global != nil {
		out.Global = *w.Global
	}
	if w.TenantIds != nil {
		for _, id := range *w.TenantIds {
			out.TenantIDs = append(out.TenantIDs, id.String())
		}
	}
	if w.Headers != nil && len(*w.Headers) > 0 {
		out.Headers = *w.Headers
	}
	if w.HttpAuthenticationUsername != nil {
		out.BasicAuthUser = strings.TrimSpace(*w.HttpAuthenticationUsername)
	}
	if w.HttpAuthenticationPassword != nil {
		out.BasicAuthPassword = strings.TrimSpace(*w.HttpAuthenticationPassword)
	}
	if w.SslCertificate != nil {
		out.SSLCertificate = strings.TrimSpace(*w.SslCertificate)
	}
	if w.SslCertificateKeyId != nil {
		out.SSLCertificateKeyID = w.SslCertificateKeyId.String()
	}
	if sc := w.SignatureConfiguration; sc != nil {
		out.SigningEnabled = sc.Enabled != nil && *sc.Enabled
		if sc.SigningKeyId != nil {
			out.SigningKeyID = sc.SigningKeyId.String()
		}
	}
	if w.Data != nil && len(*w.Data) > 0 {
		// Numbers were decoded as json.Number, so this re-encoding is exact.
		out.Data, _ = json.Marshal(*w.Data)
	}
	return out
}

// fromStore maps a stored webhook onto FusionAuth's wire shape. Collections and flags are
// always present, as FusionAuth serialises them; empty strings are left out.
func fromStore(w *store.Webhook) api.Webhook {
	id, _ := uuid.Parse(w.ExternalID)
	connect, read := int32(w.ConnectTimeout), int32(w.ReadTimeout)
	events := map[string]bool{}
	for _, e := range w.Events {
		events[e] = true
	}
	switch off := w.Extra[extraEventsDisabled].(type) {
	case []string: // as toStore leaves it
		for _, e := range off {
			events[e] = false
		}
	case []any: // as the store reads it back
		for _, e := range off {
			if s, ok := e.(string); ok {
				events[s] = false
			}
		}
	}
	tenants := []uuid.UUID{}
	for _, t := range w.TenantIDs {
		if u, err := uuid.Parse(t); err == nil {
			tenants = append(tenants, u)
		}
	}
	headers := map[string]string{}
	for k, v := range w.Headers {
		headers[k] = v
	}
	data := map[string]any{}
	if len(w.Data) > 0 {
		_ = decodeJSON(w.Data, &data)
	}
	enabled := w.SigningEnabled
	sig := &api.WebhookSignatureConfiguration{Enabled: &enabled}
	if u, err := uuid.Parse(w.SigningKeyID); err == nil {
		sig.SigningKeyId = &u
	}
	global := w.Global
	insert, update := w.CreatedAt.UnixMilli(), w.UpdatedAt.UnixMilli()
	out := api.Webhook{
		Id:                     &id,
		Url:                    &w.URL,
		ConnectTimeout:         &connect,
		ReadTimeout:            &read,
		EventsEnabled:          &events,
		Global:                 &global,
		TenantIds:              &tenants,
		Headers:                &headers,
		SignatureConfiguration: sig,
		Data:                   &data,
		InsertInstant:          &insert,
		LastUpdateInstant:      &update,
	}
	out.Description = nonEmpty(w.Description)
	out.HttpAuthenticationUsername = nonEmpty(w.BasicAuthUser)
	out.HttpAuthenticationPassword = nonEmpty(w.BasicAuthPassword)
	out.SslCertificate = nonEmpty(w.SSLCertificate)
	if u, err := uuid.Parse(w.SSLCertificateKeyID); err == nil {
		out.SslCertificateKeyId = &u
	}
	return out
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
