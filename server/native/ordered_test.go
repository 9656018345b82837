package native_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
)

// exerciseOrderedRoutes checks a native subscription's ordered flag (taken at create and
// PATCH, shown, false by default) and an event's orderingKey, and that anything but a
// boolean and a string of at most 128 is refused with 400 in the native envelope. It
// deletes what it created.
func exerciseOrderedRoutes(t *testing.T, do doFunc) {
	t.Helper()
	ordered := func(b []byte) bool {
		var w api.Webhook
		if err := json.Unmarshal(b, &w); err != nil || w.Ordered == nil {
			t.Fatalf("webhook without ordered: %s", b)
		}
		return *w.Ordered
	}
	status, b := do("POST", "/v1/webhooks", `{"url":"https://example.com/plain","events":["user.created"]}`)
	if status != 201 || ordered(b) {
		t.Fatalf("a subscription is unordered by default: %d %s", status, b)
	}
	var plain api.Webhook
	_ = json.Unmarshal(b, &plain)
	status, b = do("POST", "/v1/webhooks", `{"url":"https://example.com/ordered","events":["user.created"],"ordered":true}`)
	if status != 201 || !ordered(b) {
		t.Fatalf("create ordered: %d %s", status, b)
	}
	var created api.Webhook
	_ = json.Unmarshal(b, &created)
	id := created.Id
	invalid := func(what string, status int, b []byte) {
		t.Helper()
		if status != 400 || !strings.Contains(string(b), `"code":"invalid"`) {
			t.Errorf("%s: %d %s", what, status, b)
		}
	}
	for _, bad := range []string{`"true"`, `1`, `null,"x":{`, `[]`} {
		status, b = do("POST", "/v1/webhooks", `{"url":"https://example.com/x","events":["user.created"],"ordered":`+bad+`}`)
		invalid("create with ordered "+bad, status, b)
		status, b = do("PATCH", "/v1/webhooks/"+id, `{"ordered":`+bad+`}`)
		invalid("patch ordered "+bad, status, b)
	}
	if status, b = do("PATCH", "/v1/webhooks/"+id, `{"description":"kept"}`); status != 200 || !ordered(b) {
		t.Errorf("a patch without ordered changed it: %d %s", status, b)
	}
	if status, b = do("PATCH", "/v1/webhooks/"+plain.Id, `{"ordered":true}`); status != 200 || !ordered(b) {
		t.Errorf("patch ordered: %d %s", status, b)
	}
	if status, b = do("GET", "/v1/webhooks/"+plain.Id, ""); status != 200 || !ordered(b) {
		t.Errorf("get: %d %s", status, b)
	}
	if status, b = do("PATCH", "/v1/webhooks/"+plain.Id, `{"ordered":false}`); status != 200 || ordered(b) {
		t.Errorf("patch unordered: %d %s", status, b)
	}
	// The ordering key: a string of at most 128.
	if status, b = do("POST", "/v1/events", `{"type":"user.created","orderingKey":"`+strings.Repeat("k", 128)+`"}`); status != 201 {
		t.Errorf("publish with a 128-character key: %d %s", status, b)
	}
	// The event keeps no ordering key: each delivery to an ordered webhook shows its lane
	// as orderingKey, "" for the default lane; deliveries to unordered ones show none.
	show := func(k *string) string {
		if k == nil {
			return "none"
		}
		return strconv.Quote(*k)
	}
	keyOf := func(event string) map[string]*string {
		t.Helper()
		status, b := do("GET", "/v1/deliveries?eventId="+event, "")
		var page struct{ Deliveries []api.Delivery }
		if err := json.Unmarshal(b, &page); status != 200 || err != nil {
			t.Fatalf("deliveries of %s: %d %s", event, status, b)
		}
		status, b = do("GET", "/v1/events/"+event, "")
		var ev struct{ DeliveryList []api.Delivery }
		if err := json.Unmarshal(b, &ev); status != 200 || err != nil || len(ev.DeliveryList) != len(page.Deliveries) {
			t.Fatalf("event %s: %d %s", event, status, b)
		}
		keys, listed := map[string]*string{}, map[string]*string{}
		for _, d := range page.Deliveries {
			keys[d.WebhookId] = d.OrderingKey
		}
		for _, d := range ev.DeliveryList {
			listed[d.WebhookId] = d.OrderingKey
		}
		for w, k := range keys {
			if l, ok := listed[w]; !ok || show(l) != show(k) {
				t.Errorf("event %s lists webhook %s's delivery with orderingKey %s, GET /v1/deliveries %s", event, w, show(l), show(k))
			}
		}
		return keys
	}
	for event, want := range map[string]string{"evt-ordered-key": `"acct-7"`, "evt-ordered-nokey": `""`} {
		body := `{"id":"` + event + `","type":"user.created"}`
		if want != `""` {
			body = `{"id":"` + event + `","type":"user.created","orderingKey":` + want + `}`
		}
		if status, b = do("POST", "/v1/events", body); status != 201 {
			t.Fatalf("publish %s: %d %s", event, status, b)
		}
		keys := keyOf(event)
		if k, ok := keys[id]; !ok || show(k) != want {
			t.Errorf("%s: the ordered webhook's delivery shows orderingKey %s, want %s", event, show(k), want)
		}
		if k, ok := keys[plain.Id]; !ok || k != nil {
			t.Errorf("%s: the unordered webhook's delivery shows orderingKey %s, want none", event, show(k))
		}
		status, b = do("GET", "/v1/events/"+event, "")
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); status != 200 || err != nil || fields["deliveryList"] == nil || fields["orderingKey"] != nil {
			t.Errorf("%s: the event shows an orderingKey of its own: %d %s", event, status, b)
		}
	}
	for what, bad := range map[string]string{"too long": `"` + strings.Repeat("k", 129) + `"`, "a number": `7`, "an object": `{"k":1}`, "a boolean": `true`} {
		status, b = do("POST", "/v1/events", `{"type":"user.created","orderingKey":`+bad+`}`)
		invalid("orderingKey "+what, status, b)
	}
	for _, x := range []string{id, plain.Id} {
		if status, _ = do("DELETE", "/v1/webhooks/"+x, ""); status != 204 {
			t.Errorf("delete: %d", status)
		}
	}
}
