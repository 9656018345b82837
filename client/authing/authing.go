// Package authing is a Go client of the gateway's Authing/GenAuth-compatible webhook API
// (/api/v3/...-webhook), generated from openapi/authing.yaml.
package authing

import (
	"context"
	"net/http"
)

// New returns a client of the gateway at baseURL that sends a management token (from
// POST /api/v3/get-management-token with a credential's access key id and secret) and
// its user pool id with every request.
func New(baseURL, userPoolID, token string, opts ...ClientOption) (*ClientWithResponses, error) {
	auth := WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		if req.Header.Get("Authorization") == "" {
			req.Header.Set("Authorization", token)
		}
		req.Header.Set("X-Authing-Userpool-Id", userPoolID)
		return nil
	})
	return NewClientWithResponses(baseURL, append([]ClientOption{auth}, opts...)...)
}
