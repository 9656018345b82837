// Package xsolla is a Go client of the gateway's Xsolla Login-compatible webhook API
// (/api/projects/{project_id}/events/...), generated from openapi/xsolla.yaml.
package xsolla

import (
	"context"
	"net/http"
)

// New returns a client of the gateway at baseURL that sends token, the server JWT a
// credential's client id and secret are exchanged for at POST /api/oauth2/token, as
// "X-SERVER-AUTHORIZATION: Bearer <token>".
func New(baseURL, token string, opts ...ClientOption) (*ClientWithResponses, error) {
	auth := WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		if req.Header.Get("X-SERVER-AUTHORIZATION") == "" {
			req.Header.Set("X-SERVER-AUTHORIZATION", "Bearer "+token)
		}
		return nil
	})
	return NewClientWithResponses(baseURL, append([]ClientOption{auth}, opts...)...)
}
