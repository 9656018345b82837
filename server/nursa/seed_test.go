package nursa_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server/servertest"
)

func seed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seed", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSeedExamples checks the answers of Nursa's "Create User Webhook" page: the 201 for a
// webhook with the example's fields, the request-validation 400, the 401 and the 403, each
// against the page's example: status, every field, the same JSON types.
func TestSeedExamples(t *testing.T) {
	g := start(t, nil)
	clientID, token := g.client(t)

	// The page gives the request's fields (url, events, secrets) and an answer that echoes
	// them; send those.
	var example struct {
		Data struct {
			URL     string   `json:"url"`
			Events  []string `json:"events"`
			Secrets []string `json:"secrets"`
		} `json:"data"`
	}
	if err := json.Unmarshal(seed(t, "create.201"), &example); err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(map[string]any{"url": example.Data.URL, "events": example.Data.Events, "secrets": example.Data.Secrets})
	status, b := g.do(t, token, "POST", path, string(req))
	if status != 201 {
		t.Fatalf("create: %d %s", status, b)
	}
	servertest.MatchExample(t, seed(t, "create.201"), b, "data.id", "data.clientId")
	var got struct{ Data struct{ ClientID string } }
	if err := json.Unmarshal(b, &got); err != nil || got.Data.ClientID != clientID {
		t.Errorf("clientId %q, want the caller's %q", got.Data.ClientID, clientID)
	}

	// Every validation message of the page's example, in its order.
	status, b = g.do(t, token, "POST", path, `{"url":5,"events":"x","secrets":"s"}`)
	if status != 400 {
		t.Fatalf("invalid create: %d %s", status, b)
	}
	servertest.MatchExample(t, seed(t, "validation.400"), b)

	if status, b = g.do(t, "", "POST", path, string(req)); status != 401 {
		t.Fatalf("no token: %d %s", status, b)
	}
	servertest.MatchExample(t, seed(t, "unauthorized.401"), b)

	other, _ := g.keys.IssueToken("authing", clientID, time.Hour, nil)
	if status, b = g.do(t, other, "POST", path, string(req)); status != 403 {
		t.Fatalf("another API's token: %d %s", status, b)
	}
	servertest.MatchExample(t, seed(t, "forbidden.403"), b)
}
