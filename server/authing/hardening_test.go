package authing_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store/storetest"
)

func decode(t *testing.T, b []byte) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil || e.RequestID == "" {
		t.Fatalf("not an error envelope: %s", b)
	}
	return e
}

// A signature made with a wrong secret is a failed login, as a wrong secret at
// get-management-token is (the suite checks those); a correct signature is served past the
// budget all the same.
func TestFailedSignatures(t *testing.T) {
	g := startOn(t, storetest.Open(t), nil, func(d *server.Deps) { d.Logins = server.NewLogins(3, time.Hour) })
	m := g.mint(t)
	for i := 0; i < 3; i++ {
		resp, b := g.contract.Do(t, signed(t, g.url, "GET", "/api/v3/list-webhooks", "", map[string]string{"page": "1"}, m.Field("accessKeyId"), "wrong", nil))
		if resp.StatusCode != 200 || decode(t, b).StatusCode != 401 {
			t.Fatalf("failure %d: %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := g.contract.Do(t, signed(t, g.url, "GET", "/api/v3/list-webhooks", "", map[string]string{"page": "1"}, m.Field("accessKeyId"), "wrong", nil))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || decode(t, b).APICode != 4290 {
		t.Errorf("a bad signature past the budget: %d %s", resp.StatusCode, b)
	}
	resp, b = g.contract.Do(t, signed(t, g.url, "GET", "/api/v3/list-webhooks", "", map[string]string{"page": "1"}, m.Field("accessKeyId"), m.Field("accessKeySecret"), nil))
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"statusCode":200`) {
		t.Errorf("a correct signature past the budget: %d %s", resp.StatusCode, b)
	}
}
