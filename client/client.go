// Package client is a Go client of Polyhook's native API (/v1): subscriptions, events,
// deliveries, credentials and keys. Its types and methods are generated from
// openapi/polyhook.yaml; nothing of the gateway's server is below it.
//
//	c, err := client.New("http://127.0.0.1:8080", os.Getenv("POLYHOOK_ADMIN_TOKEN"))
//	hook, err := c.CreateWebhookWithResponse(ctx, client.NewWebhook{
//		Url: "https://example.com/hooks", Events: []string{"user.created"},
//	})
//	ev, err := c.PublishEventWithResponse(ctx, client.PublishRequest{
//		Type: "user.created", Data: map[string]any{"user": map[string]any{"id": "u1"}},
//	})
//
// The clients of the vendor dialects' APIs are in the packages below this one.
package client

import (
	"context"
	"net/http"
)

// New returns a client of the gateway at baseURL (for instance "http://127.0.0.1:8080")
// that sends token as the admin token ("Authorization: Bearer <token>") with every
// request. opts go to the generated client (WithHTTPClient, WithRequestEditorFn).
func New(baseURL, token string, opts ...ClientOption) (*ClientWithResponses, error) {
	auth := WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	})
	return NewClientWithResponses(baseURL, append([]ClientOption{auth}, opts...)...)
}
