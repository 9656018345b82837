package fusionauth_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/polyhook/polyhook/server/servertest"
)

// seed reads one example of FusionAuth's Webhook APIs page, as the page has it.
func seed(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seed", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSeedExamples sends every example request of FusionAuth's Webhook APIs page verbatim
// and checks each answer against the page's example answer: status, every field, the same
// JSON types; only the instants, which the server sets, may differ in value.
func TestSeedExamples(t *testing.T) {
	g := start(t)
	const id = "00000000-0000-0000-0000-000000000042" // the examples' id
	instants := []string{"webhook.insertInstant", "webhook.lastUpdateInstant"}
	expect := func(method, path, body string, wantStatus int, example string, volatile ...string) {
		t.Helper()
		status, b, _ := g.do(t, method, path, body)
		if status != wantStatus {
			t.Fatalf("%s %s: %d %s", method, path, status, b)
		}
		servertest.MatchExample(t, []byte(seed(t, example)), b, volatile...)
	}

	// Create without an id, then delete it: the page's DELETE answers 200 with no body.
	status, b, _ := g.do(t, "POST", "/api/webhook", seed(t, "create.request"))
	if status != 200 {
		t.Fatalf("create: %d %s", status, b)
	}
	servertest.MatchExample(t, []byte(seed(t, "create.response")), b, append(instants, "webhook.id")...)
	created := webhookOf(t, b)
	if status, b, _ := g.do(t, "DELETE", "/api/webhook/"+created.Id.String(), ""); status != 200 || len(b) != 0 {
		t.Errorf("delete: %d %q", status, b)
	}

	// PATCH with the update body onto a webhook that has none of its fields: the merge
	// gives the page's update answer (a PATCH appends to arrays, so onto the same webhook
	// it would double tenantIds, as FusionAuth's does).
	bare := `{"webhook": {"url": "https://bare.example", "connectTimeout": 1, "readTimeout": 1}}`
	if status, b, _ := g.do(t, "POST", "/api/webhook/"+id, bare); status != 200 {
		t.Fatalf("create bare: %d %s", status, b)
	}
	expect("PATCH", "/api/webhook/"+id, seed(t, "update.request"), 200, "update.response", instants...)
	if status, b, _ := g.do(t, "DELETE", "/api/webhook/"+id, ""); status != 200 || len(b) != 0 {
		t.Errorf("delete: %d %q", status, b)
	}

	// Create with the examples' id, retrieve one and all, replace, search both ways.
	expect("POST", "/api/webhook/"+id, seed(t, "create.request"), 200, "create.response", instants...)
	expect("GET", "/api/webhook/"+id, "", 200, "retrieve.response", instants...)
	expect("GET", "/api/webhook", "", 200, "retrieve-all.response", "webhooks[].insertInstant", "webhooks[].lastUpdateInstant")
	expect("PUT", "/api/webhook/"+id, seed(t, "update.request"), 200, "update.response", instants...)
	searched := []string{"webhooks[].insertInstant", "webhooks[].lastUpdateInstant"}
	expect("POST", "/api/webhook/search", seed(t, "search.request"), 200, "search.response", searched...)
	expect("GET", "/api/webhook/search?description=game", "", 200, "search.response", searched...)
}
