// Package fusionauth is a Go client of the gateway's FusionAuth-compatible webhook API
// (/api/webhook...), generated from openapi/fusionauth.yaml.
package fusionauth

import (
	"context"
	"net/http"
)

// New returns a client of the gateway at baseURL that sends apiKey (minted with
// POST /v1/credentials {"dialect": "fusionauth"}) as "Authorization: <apiKey>".
func New(baseURL, apiKey string, opts ...ClientOption) (*ClientWithResponses, error) {
	auth := WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", apiKey)
		return nil
	})
	return NewClientWithResponses(baseURL, append([]ClientOption{auth}, opts...)...)
}
