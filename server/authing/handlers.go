package authing

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/authingapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

type handlers struct{ *Dialect }

var _ api.ServerInterface = handlers{}

// fields is a JSON object body, checked field by field. It stays a loose parse: Authing's
// validator names the first field that is absent, null or of the wrong type, in its own
// words, which decoding into the generated types cannot tell apart.
type fields map[string]json.RawMessage

func readFields(c echo.Context) (fields, error) {
	raw, err := server.ReadBody(c)
	if err != nil {
		return nil, err
	}
	var f fields
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return nil, invalid("The request body must be a JSON object.")
	}
	return f, nil
}

func (f fields) has(k string) bool { v, ok := f[k]; return ok && string(v) != "null" }

// id returns the required string field k.
func (f fields) id(k string) (string, error) {
	if !f.has(k) {
		return "", invalid("%s is required.", k)
	}
	return f.str(k)
}

func (f fields) str(k string) (string, error) {
	var s string
	if err := json.Unmarshal(f[k], &s); err != nil {
		return "", invalid("%s must be a string.", k)
	}
	return s, nil
}

func (h handlers) GetManagementToken(c echo.Context) error {
	f, err := readFields(c)
	if err != nil {
		return err
	}
	if !f.has("accessKeyId") || !f.has("accessKeySecret") {
		return invalid("accessKeyId and accessKeySecret are required.")
	}
	ak, err := f.str("accessKeyId")
	if err != nil {
		return err
	}
	sk, err := f.str("accessKeySecret")
	if err != nil {
		return err
	}
	cred, err := h.db.AuthenticateClient(c.Request().Context(), Name, ak, sk)
	if store.ErrorCode(err) == store.EUNAUTHORIZED {
		if err := h.logins.Failed(c, "authing:"+ak); err != nil {
			return err
		}
		return unauthorized(codeUnauthorized, "Invalid accessKeyId or accessKeySecret.")
	} else if err != nil {
		return err
	}
	token, err := h.keys.IssueToken(Name, cred.ID, tokenTTL, map[string]any{"pool": cred.UserPoolID, "scoped_userpool_id": cred.UserPoolID})
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"access_token": token, "expires_in": int(tokenTTL.Seconds())})
}

func (h handlers) CreateWebhook(c echo.Context) error {
	f, err := readFields(c)
	if err != nil {
		return err
	}
	for _, k := range []string{"name", "url", "events", "contentType"} {
		if !f.has(k) {
			return invalid("%s is required.", k)
		}
	}
	w := &store.Webhook{Dialect: Name, Owner: poolOf(c), ExternalID: objectID(), Enabled: true}
	if err := apply(w, f); err != nil {
		return err
	}
	if err := h.checkURL(w.URL); err != nil {
		return err
	}
	if err := h.db.CreateWebhook(c.Request().Context(), w); err != nil {
		return err
	}
	return ok(c, dto(w))
}

func (h handlers) ListWebhooks(c echo.Context, p api.ListWebhooksParams) error {
	page, err := intParam("page", p.Page, 1, 1, 1<<30)
	if err != nil {
		return err
	}
	limit, err := intParam("limit", p.Limit, 10, 1, 50)
	if err != nil {
		return err
	}
	pool := poolOf(c)
	ws, total, err := h.db.FindWebhooks(c.Request().Context(), store.WebhookFilter{
		Dialect: Name, Owner: &pool, Offset: (page - 1) * limit, Limit: limit,
		OrderBy: []store.WebhookOrder{{Field: store.OrderCreatedAt, Desc: true}},
	})
	if err != nil {
		return err
	}
	list := make([]map[string]any, 0, len(ws))
	for i := range ws {
		list = append(list, dto(&ws[i]))
	}
	return ok(c, map[string]any{"totalCount": total, "list": list})
}

func intParam(name string, v *string, def, lo, hi int) (int, error) {
	if v == nil || *v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(*v)
	if err != nil || n < lo || n > hi {
		return 0, invalid("%s must be an integer from %d to %d.", name, lo, hi)
	}
	return n, nil
}

func (h handlers) GetWebhook(c echo.Context, p api.GetWebhookParams) error {
	if p.WebhookId == nil || *p.WebhookId == "" {
		return invalid("webhookId is required.")
	}
	w, err := h.get(c, *p.WebhookId)
	if err != nil {
		return err
	}
	return ok(c, dto(w))
}

func (h handlers) get(c echo.Context, id string) (*store.Webhook, error) {
	w, err := h.db.GetWebhook(c.Request().Context(), store.WebhookKey{Dialect: Name, Owner: poolOf(c), ExternalID: id})
	if store.ErrorCode(err) == store.ENOTFOUND {
		return nil, errNotFound
	}
	return w, err
}

// bodyAndWebhook reads a JSON body and loads the pool's webhook its webhookId names.
func (h handlers) bodyAndWebhook(c echo.Context) (fields, *store.Webhook, error) {
	f, err := readFields(c)
	if err != nil {
		return nil, nil, err
	}
	id, err := f.id("webhookId")
	if err != nil {
		return nil, nil, err
	}
	w, err := h.get(c, id)
	return f, w, err
}

func (h handlers) UpdateWebhook(c echo.Context) error {
	f, existing, err := h.bodyAndWebhook(c)
	if err != nil {
		return err
	}
	key := store.WebhookKey{Dialect: Name, Owner: existing.Owner, ExternalID: existing.ExternalID}
	w, err := h.db.UpdateWebhook(c.Request().Context(), key, func(w *store.Webhook) error {
		url := w.URL
		if err := apply(w, f); err != nil {
			return err
		}
		if w.URL != url {
			return h.checkURL(w.URL)
		}
		return nil
	})
	if store.ErrorCode(err) == store.ENOTFOUND {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return ok(c, dto(w))
}

// checkURL refuses a URL deliveries may not reach.
func (h handlers) checkURL(u string) error {
	if err := h.checkTarget(u); err != nil {
		return invalid("url is refused: %s.", err)
	}
	return nil
}

func (h handlers) DeleteWebhook(c echo.Context) error {
	f, err := readFields(c)
	if err != nil {
		return err
	}
	var ids []string
	if err := json.Unmarshal(f["webhookIds"], &ids); err != nil || !f.has("webhookIds") {
		return invalid("webhookIds must be an array of strings.")
	}
	for _, id := range ids {
		err := h.db.DeleteWebhook(c.Request().Context(), store.WebhookKey{Dialect: Name, Owner: poolOf(c), ExternalID: id})
		if err != nil && store.ErrorCode(err) != store.ENOTFOUND {
			return err
		}
	}
	return ok(c, map[string]any{"success": true})
}

func (h handlers) GetWebhookLogs(c echo.Context) error {
	f, err := readFields(c)
	if err != nil {
		return err
	}
	id, err := f.id("webhookId")
	if err != nil {
		return err
	}
	page, limit := 1, 10
	for _, p := range []struct {
		name   string
		into   *int
		lo, hi int
	}{{"page", &page, 1, 1 << 30}, {"limit", &limit, 1, 50}} {
		if f.has(p.name) {
			if err := json.Unmarshal(f[p.name], p.into); err != nil || *p.into < p.lo || *p.into > p.hi {
				return invalid("%s must be an integer from %d to %d.", p.name, p.lo, p.hi)
			}
		}
	}
	list := []map[string]any{}
	w, err := h.get(c, id)
	if err == errNotFound {
		return ok(c, map[string]any{"totalCount": 0, "list": list}) // an unknown id has no logs
	} else if err != nil {
		return err
	}
	as, total, err := h.db.AttemptsOfWebhook(c.Request().Context(), w.ID, (page-1)*limit, limit)
	if err != nil {
		return err
	}
	for _, a := range as {
		entry := map[string]any{
			"webhookId": w.ExternalID, "eventName": a.EventName,
			"requestBody": decodeBody(a.RequestBody), "requestHeaders": a.RequestHeaders,
			"responseStatusCode": a.ResponseStatus, "responseHeaders": a.ResponseHeaders,
			"responseBody": decodeBody(a.ResponseBody),
			// Authing's log timestamps are in China Standard Time, as its docs show.
			"timestamp": a.StartedAt.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04:05.000-0700"),
			"success":   a.ResponseStatus >= 200 && a.ResponseStatus < 300,
		}
		if entry["requestHeaders"] == nil {
			entry["requestHeaders"] = map[string]string{}
		}
		if entry["responseHeaders"] == nil {
			entry["responseHeaders"] = map[string]string{}
		}
		if a.Error != "" {
			entry["errorMessage"] = errorMessage(a.ErrorKind, a.Error)
		}
		list = append(list, entry)
	}
	return ok(c, map[string]any{"totalCount": total, "list": list})
}

// errorMessage names a failure as Authing's logs do (ERRTIMEOUT), or else by its kind.
func errorMessage(kind, msg string) string {
	if kind == "timeout" {
		return "ERRTIMEOUT"
	}
	return msg
}

// decodeBody shows a JSON body as JSON and anything else (a form, text) as a string.
func decodeBody(s string) any {
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		return v
	}
	return s
}

func (h handlers) TriggerWebhook(c echo.Context) error {
	f, w, err := h.bodyAndWebhook(c)
	if err != nil {
		return err
	}
	data := json.RawMessage(`{"description":"A test from Authing Webhook"}`)
	if f.has("requestBody") {
		if b := bytes.TrimSpace(f["requestBody"]); len(b) == 0 || b[0] != '{' {
			return invalid("requestBody must be an object.")
		}
		data = f["requestBody"]
	}
	extra := http.Header{}
	if f.has("requestHeaders") {
		var hs map[string]any
		if err := json.Unmarshal(f["requestHeaders"], &hs); err != nil {
			return invalid("requestHeaders must be an object.")
		}
		// In name order, so that the one named is the same on every run.
		for _, k := range slices.Sorted(maps.Keys(hs)) {
			if s, ok := hs[k].(string); ok && validHeader(k, s) {
				extra.Set(k, s)
			} else {
				return invalid("requestHeaders[%q] must be a string header value.", k)
			}
		}
	}
	res, err := h.engine.TestSend(c.Request().Context(), w, "test", data, extra)
	if err != nil {
		return err
	}
	response := map[string]any{"status": res.Status, "headers": flatten(res.Header), "data": decodeBody(string(res.Body))}
	if res.Err != nil {
		response["error"] = errorMessage(res.ErrKind, res.Err.Error())
	}
	return ok(c, map[string]any{"response": response})
}

func validHeader(k, v string) bool {
	return k != "" && !strings.ContainsAny(k, " \t\r\n:") && !strings.ContainsAny(v, "\r\n")
}

func flatten(h http.Header) map[string]string {
	out := map[string]string{}
	for k, vs := range h {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

func (h handlers) GetWebhookEventList(c echo.Context) error {
	type item struct {
		Name     string `json:"name"`
		NameEn   string `json:"nameEn"`
		Value    string `json:"value"`
		Category string `json:"category,omitempty"`
	}
	var cats, events []item
	seen := map[string]bool{}
	for _, e := range eventNames {
		cat := category(e)
		if !seen[cat] {
			seen[cat] = true
			cats = append(cats, item{Name: cat, NameEn: cat, Value: cat})
		}
		events = append(events, item{Name: e, NameEn: e, Value: e, Category: cat})
	}
	return ok(c, map[string]any{"categories": cats, "events": events})
}

// apply sets the fields present in f onto w, validating each.
func apply(w *store.Webhook, f fields) error {
	if f.has("name") {
		s, err := f.str("name")
		if err != nil || strings.TrimSpace(s) == "" || len(s) > 255 {
			return invalid("name must be a non-empty string of at most 255 characters.")
		}
		w.Name = s
	}
	if f.has("url") {
		s, err := f.str("url")
		u, perr := url.Parse(s)
		if err != nil || perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || len(s) > 2048 {
			return invalid("url must be an absolute http or https URL.")
		}
		w.URL = s
	}
	if f.has("events") {
		var es []string
		if err := json.Unmarshal(f["events"], &es); err != nil {
			return invalid("events must be an array of event names.")
		}
		if len(es) == 0 {
			return invalid("events must name at least one event.")
		}
		for _, e := range es {
			if !knownEvents[e] {
				return invalid("Unknown event %q (see get-webhook-event-list).", e)
			}
		}
		w.Events = es
	}
	if f.has("contentType") {
		s, err := f.str("contentType")
		if err != nil || (s != "application/json" && s != "application/x-www-form-urlencoded") {
			return invalid("contentType must be application/json or application/x-www-form-urlencoded.")
		}
		w.ContentType = s
	}
	if f.has("enabled") {
		if err := json.Unmarshal(f["enabled"], &w.Enabled); err != nil {
			return invalid("enabled must be a boolean.")
		}
	}
	if _, present := f["secret"]; present {
		if !f.has("secret") {
			w.Secrets = nil
		} else {
			s, err := f.str("secret")
			if err != nil || len(s) > 255 {
				return invalid("secret must be a string of at most 255 characters.")
			}
			w.Secrets = nil
			if s != "" {
				w.Secrets = []string{s}
			}
		}
	}
	if f.has("retryConfig") {
		var rc struct {
			Enabled   *bool   `json:"enabled"`
			Count     *int    `json:"count"`
			Delay     *int    `json:"delay"`
			DelayUnit *string `json:"delayUnit"`
		}
		if err := json.Unmarshal(f["retryConfig"], &rc); err != nil || rc.Enabled == nil {
			return invalid("retryConfig must be an object with a boolean enabled.")
		}
		r := &store.Retry{Enabled: *rc.Enabled}
		if rc.Count != nil {
			if *rc.Count < 0 || *rc.Count > 20 {
				return invalid("retryConfig.count must be from 0 to 20.")
			}
			r.Count = *rc.Count
		}
		if rc.Delay != nil {
			if *rc.Delay < 1 {
				return invalid("retryConfig.delay must be at least 1.")
			}
			r.Delay = *rc.Delay
		}
		if rc.DelayUnit != nil {
			switch *rc.DelayUnit {
			case "Second", "Minute", "Hour", "Day":
				r.DelayUnit = *rc.DelayUnit
			default:
				return invalid("retryConfig.delayUnit must be Second, Minute, Hour or Day.")
			}
		}
		w.Retry = r
	}
	return nil
}

// dto is a webhook as Authing answers it. It is a map rather than the generated WebhookDto
// because Authing writes its times with exactly three fractional digits, which time.Time
// does not, and omits retryConfig's zero fields.
func dto(w *store.Webhook) map[string]any {
	out := map[string]any{
		"webhookId": w.ExternalID, "name": w.Name, "url": w.URL, "contentType": w.ContentType, "enabled": w.Enabled,
		"createdAt": w.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"updatedAt": w.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"events":    w.Events,
	}
	if w.Events == nil {
		out["events"] = []string{}
	}
	if len(w.Secrets) > 0 {
		out["secret"] = w.Secrets[0]
	}
	if r := w.Retry; r != nil {
		rc := map[string]any{"enabled": r.Enabled}
		if r.Count != 0 {
			rc["count"] = r.Count
		}
		if r.Delay != 0 {
			rc["delay"] = r.Delay
		}
		if r.DelayUnit != "" {
			rc["delayUnit"] = r.DelayUnit
		}
		out["retryConfig"] = rc
	}
	return out
}
