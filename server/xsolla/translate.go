package xsolla

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	api "github.com/polyhook/polyhook/gen/xsollaapi"
	"github.com/polyhook/polyhook/store"
)

// decodeAdd reads an "Add webhook" body into the generated type. Xsolla's validator tells
// a url that is not passed (absent or null, 002-028) from an invalid one (002-027), which
// the generated type cannot: the body's keys are looked at first.
func decodeAdd(raw []byte) (api.AddWebhookForEventJSONBody, error) {
	var in api.AddWebhookForEventJSONBody
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil || keys == nil {
		return in, xerr(http.StatusUnprocessableEntity, "002-027", "The request body must be a JSON object: {\"url\": \"...\"}.")
	}
	if u, ok := keys["url"]; !ok || string(u) == "null" {
		return in, xerrDetails(http.StatusUnprocessableEntity, "002-028", "Parameter url is not passed.", map[string]any{"url": "required"})
	}
	if err := json.Unmarshal(raw, &in); err != nil || !validURL(in.Url) {
		return in, xerrDetails(http.StatusUnprocessableEntity, "002-027", "Parameter url is invalid.", map[string]any{"url": "must be an absolute http or https URL of at most 500 characters"})
	}
	return in, nil
}

func validURL(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > maxURLLen {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != ""
}

// webhookOf is the webhook an "Add webhook" request makes: one event type, under the
// project that owns it (the tenant its events are published with).
func webhookOf(project, eventType string, in api.AddWebhookForEventJSONBody) *store.Webhook {
	return &store.Webhook{Dialect: Name, Owner: project, URL: in.Url, Events: []string{eventType}, Enabled: true}
}

// wire is a webhook as Xsolla answers it: its integer id and URL.
func wire(w *store.Webhook) api.Webhook {
	id, _ := strconv.ParseInt(w.ExternalID, 10, 64)
	return api.Webhook{Id: id, Url: w.URL}
}
