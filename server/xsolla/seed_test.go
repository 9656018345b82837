package xsolla_test

import (
	"testing"

	"github.com/polyhook/polyhook/server/servertest"
)

// TestSeedExamples follows Xsolla's "Add webhook for event" page: a {"url"} body for each
// event type the page lists answers 200 with a JSON object (the page's sample is {}), and
// the statuses the page lists for its failures are Xsolla's envelope.
func TestSeedExamples(t *testing.T) {
	g := start(t, nil)
	tok := g.token(t, g.credential(t, projectA))
	for _, event := range []string{"registration", "authorization", "email_confirmation", "link_social_account", "new_verified_user"} {
		status, b := g.do(t, tok, "POST", hooks(projectA, event), `{"url":"https://example.com/hook/`+event+`"}`)
		if status != 200 {
			t.Fatalf("add for %s: %d %s", event, status, b)
		}
		servertest.MatchExample(t, []byte(`{}`), b)
	}
	for _, tc := range []struct {
		auth, path string
		status     int
	}{
		{"", hooks(projectA, "registration"), 401},
		{tok, hooks(projectB, "registration"), 404},
		{tok, hooks(projectA, "purchase"), 422},
	} {
		if status, b := g.do(t, tc.auth, "POST", tc.path, `{"url":"https://example.com/hook"}`); status != tc.status || code(t, b) == "" {
			t.Errorf("%s: %d %s, want %d", tc.path, status, b, tc.status)
		}
	}
}
