package fusionauth_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
)

// TestOfficialClient drives the official @fusionauth/typescript-client, unchanged, through
// every webhook method against a running gateway (testdata/sdk/sdk.mjs asserts each result
// field by field); this test then checks what the script saw against the store.
func TestOfficialClient(t *testing.T) {
	g := start(t)
	out := servertest.Node(t, "testdata/sdk", "sdk.mjs", "GATEWAY_URL="+g.url, "API_KEY="+g.key)
	var res struct {
		GeneratedID string   `json:"generatedId"`
		SearchTotal int      `json:"searchTotal"`
		Remaining   []string `json:"remaining"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	if res.SearchTotal != 2 || len(res.Remaining) != 1 || res.Remaining[0] != res.GeneratedID {
		t.Errorf("script saw %+v", res)
	}
	ws, total, err := g.db.FindWebhooks(context.Background(), store.WebhookFilter{Dialect: store.DialectFusionAuth})
	if err != nil || total != 1 || ws[0].ExternalID != res.GeneratedID || ws[0].Headers["X-Sdk"] != "yes" {
		t.Errorf("store after the script: %+v (total %d, %v)", ws, total, err)
	}
}
