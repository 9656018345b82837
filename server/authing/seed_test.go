package authing_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/polyhook/polyhook/server/servertest"
)

// TestSeedExamples sends the create-webhook request of Authing's "Create a Webhook" page,
// with the sample value of every parameter, and checks the answer against the page's
// sample result: status, every field, the same JSON types.
func TestSeedExamples(t *testing.T) {
	g := start(t, nil)
	m := g.mint(t)
	tok := g.token(t, m)
	sample, err := os.ReadFile(filepath.Join("testdata", "seed", "create-webhook.response.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The sample writes events as the string "[\"user:created\"]": the docs generator
	// JSON-encodes every array example, while the page's own WebhookDto table, the API's
	// schema and the SDK's types have an array. Compare with the array it stands for.
	var want map[string]any
	if err := json.Unmarshal(sample, &want); err != nil {
		t.Fatal(err)
	}
	data := want["data"].(map[string]any)
	var events []any
	if err := json.Unmarshal([]byte(data["events"].(string)), &events); err != nil {
		t.Fatal(err)
	}
	data["events"] = events
	example, _ := json.Marshal(want)

	body := `{"contentType":"application/json","events":["user:created"],"url":"https://example.com/callback","name":"User creation event","enabled":true,"secret":"xxxxxxxxxxxx"}`
	req := servertest.Request(t, "POST", g.url+"/api/v3/create-webhook", body, "Authorization", "Bearer "+tok, "X-Authing-Userpool-Id", m.Field("userPoolId"))
	resp, b := g.contract.Do(t, req)
	if resp.StatusCode != 200 {
		t.Fatalf("create-webhook: HTTP %d %s", resp.StatusCode, b)
	}
	servertest.MatchExample(t, example, b, "requestId", "data.webhookId", "data.createdAt", "data.updatedAt")
	var got struct {
		Data struct{ WebhookID, CreatedAt string }
	}
	if err := json.Unmarshal(b, &got); err != nil || len(got.Data.WebhookID) != len("6229ffaxxxxxxxxcade3e3d9") || len(got.Data.CreatedAt) != len("2022-07-03T02:20:30.000Z") {
		t.Errorf("webhookId and createdAt are not shaped like the sample's: %s", b)
	}
}
