package native_test

import (
	"context"
	"testing"

	"github.com/oapi-codegen/nullable"

	"github.com/polyhook/polyhook/client"
	"github.com/polyhook/polyhook/store/storetest"
)

// The Go client sends a webhook's rateLimit in the three states a PATCH tells apart:
// left out (kept), a number (set) and null (removed). As a pointer it could not say
// null, and a limit set through the client could not be removed through it.
func TestGoClient_RateLimitNullRemovesIt(t *testing.T) {
	t.Parallel()
	url, _ := startOn(t, storetest.Open(t), nil)
	c, err := client.New(url, token)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	five := 5
	created, err := c.CreateWebhookWithResponse(ctx, client.NewWebhook{Url: "https://example.com/paced", Events: []string{"user.created"}, RateLimit: &five})
	if err != nil || created.JSON201 == nil {
		t.Fatalf("create: %v %s", err, created.Body)
	}
	id := created.JSON201.Id
	limit := func(patch client.WebhookPatch) *int {
		t.Helper()
		r, err := c.UpdateWebhookWithResponse(ctx, id, patch)
		if err != nil || r.JSON200 == nil {
			t.Fatalf("patch: %v %s", err, r.Body)
		}
		return r.JSON200.RateLimit
	}
	kept := "kept"
	if got := limit(client.WebhookPatch{Description: &kept}); got == nil || *got != 5 {
		t.Errorf("a patch leaving rateLimit out: %v, want 5 kept", got)
	}
	if got := limit(client.WebhookPatch{RateLimit: nullable.NewNullableWithValue(12)}); got == nil || *got != 12 {
		t.Errorf("a patch setting rateLimit 12: %v", got)
	}
	if got := limit(client.WebhookPatch{RateLimit: nullable.NewNullNullable[int]()}); got != nil {
		t.Errorf("a patch sending rateLimit null: %v, want none", *got)
	}
}
