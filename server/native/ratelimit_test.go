package native_test

import (
	"encoding/json"
	"strings"
	"testing"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
)

// exerciseRateLimitRoutes checks a native subscription's rateLimit: taken at create and
// PATCH, shown, kept when a PATCH leaves it out, removed by a PATCH's null, and anything but a whole number of at
// least 1 refused with 400 in the native envelope. It deletes what it created.
func exerciseRateLimitRoutes(t *testing.T, do doFunc) {
	t.Helper()
	limit := func(b []byte) *int {
		var w api.Webhook
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatalf("webhook: %s", b)
		}
		return w.RateLimit
	}
	status, b := do("POST", "/v1/webhooks", `{"url":"https://example.com/paced","events":["user.created"],"rateLimit":5}`)
	if status != 201 || limit(b) == nil || *limit(b) != 5 {
		t.Fatalf("create with a rate limit: %d %s", status, b)
	}
	var created api.Webhook
	_ = json.Unmarshal(b, &created)
	id := created.Id
	for _, bad := range []string{`0`, `-1`, `1.5`, `"5"`, `true`, `100001`} {
		if status, b = do("POST", "/v1/webhooks", `{"url":"https://example.com/x","events":["user.created"],"rateLimit":`+bad+`}`); status != 400 || !strings.Contains(string(b), `"code":"invalid"`) {
			t.Errorf("create with rateLimit %s: %d %s", bad, status, b)
		}
		if status, b = do("PATCH", "/v1/webhooks/"+id, `{"rateLimit":`+bad+`}`); status != 400 || !strings.Contains(string(b), `"code":"invalid"`) {
			t.Errorf("patch rateLimit %s: %d %s", bad, status, b)
		}
	}
	if status, b = do("PATCH", "/v1/webhooks/"+id, `{"rateLimit":12}`); status != 200 || limit(b) == nil || *limit(b) != 12 {
		t.Errorf("patch the rate limit: %d %s", status, b)
	}
	if status, b = do("PATCH", "/v1/webhooks/"+id, `{"description":"kept"}`); status != 200 || limit(b) == nil || *limit(b) != 12 {
		t.Errorf("a patch without rateLimit changed it: %d %s", status, b)
	}
	if status, b = do("GET", "/v1/webhooks/"+id, ""); status != 200 || limit(b) == nil || *limit(b) != 12 {
		t.Errorf("get: %d %s", status, b)
	}
	// null removes the limit; an absent one left it (above).
	if status, b = do("PATCH", "/v1/webhooks/"+id, `{"description":"unpaced", "rateLimit" : null}`); status != 200 || limit(b) != nil ||
		strings.Contains(string(b), "rateLimit") || !strings.Contains(string(b), "unpaced") {
		t.Errorf("patch rateLimit null: %d %s", status, b)
	}
	if status, b = do("GET", "/v1/webhooks/"+id, ""); status != 200 || limit(b) != nil {
		t.Errorf("get after removing the limit: %d %s", status, b)
	}
	if status, b = do("PATCH", "/v1/webhooks/"+id, `{"rateLimit":3}`); status != 200 || limit(b) == nil || *limit(b) != 3 {
		t.Errorf("a limit set again after its removal: %d %s", status, b)
	}
	status, b = do("POST", "/v1/webhooks", `{"url":"https://example.com/free","events":["user.created"]}`)
	if status != 201 || limit(b) != nil {
		t.Errorf("a subscription without a limit shows one: %d %s", status, b)
	}
	var free api.Webhook
	_ = json.Unmarshal(b, &free)
	for _, x := range []string{id, free.Id} {
		if status, _ = do("DELETE", "/v1/webhooks/"+x, ""); status != 204 {
			t.Errorf("delete: %d", status)
		}
	}
}
