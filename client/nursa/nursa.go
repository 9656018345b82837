// Package nursa is a Go client of the gateway's Nursa-compatible user-webhook API
// (/api/v2/public/webhooks/user...), generated from openapi/nursa.yaml.
package nursa

import (
	"context"
	"net/http"
)

// New returns a client of the gateway at baseURL that sends token, the JWT a credential's
// client id and secret are exchanged for at POST /oidc/oauth/token, as
// "Authorization: Bearer <token>".
func New(baseURL, token string, opts ...ClientOption) (*ClientWithResponses, error) {
	auth := WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		if req.Header.Get("Authorization") == "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	})
	return NewClientWithResponses(baseURL, append([]ClientOption{auth}, opts...)...)
}
