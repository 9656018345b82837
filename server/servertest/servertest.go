// Package servertest runs APIs on a real HTTP listener for tests and checks every
// response against the API's OpenAPI spec.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/polyhook/polyhook/server"
)

// Start serves apis on a loopback listener until the test ends and returns its base URL.
func Start(t testing.TB, apis ...server.API) (string, *server.Server) {
	t.Helper()
	srv := server.New(Logger(t))
	srv.Register(apis...)
	return Serve(t, srv), srv
}

// Serve serves h on a loopback listener until the test ends and returns its base URL.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// Logger logs through t, at debug level, so that a failing test shows what the server did.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Contract sends requests to a server and validates each response against a spec. It also
// records which operations answered with which statuses, so a test can require that
// every operation and every documented status was exercised.
type Contract struct {
	spec   *openapi3.T
	router routers.Router
	client *http.Client

	mu   sync.Mutex
	seen map[string]bool // "operationId status"
}

var registerDecoders sync.Once

// NewContract checks responses from the server at baseURL against spec.
func NewContract(t testing.TB, spec *openapi3.T, baseURL string) *Contract {
	t.Helper()
	registerDecoders.Do(func() {
		// Some vendors answer in HTML (Nursa's 429); its schema is a plain string.
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	})
	spec.Servers = openapi3.Servers{{URL: baseURL}}
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatalf("contract router: %v", err)
	}
	return &Contract{spec: spec, router: router, client: &http.Client{}, seen: map[string]bool{}}
}

// Do sends req and fails the test unless the response matches the spec: a declared status,
// a body matching the declared schema and content type, and no body where none is
// declared. It returns the response and its body.
func (c *Contract) Do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	if err := c.validate(req, resp, body); err != nil {
		t.Errorf("%s %s -> %d %s\ncontract violation: %v", req.Method, req.URL.RequestURI(), resp.StatusCode, body, err)
	}
	return resp, body
}

// DoUnrouted sends req, which no operation of the spec takes (an unknown path or method
// under the API's prefix), and fails the test unless the answer has status and matches
// the spec's components.responses entry named response: its schema, or no body and no
// content type when it declares none. It returns the response and its body.
func (c *Contract) DoUnrouted(t testing.TB, req *http.Request, status int, response string) (*http.Response, []byte) {
	t.Helper()
	if route, _, err := c.router.FindRoute(req); err == nil {
		t.Fatalf("%s %s is operation %s of the spec; use Do", req.Method, req.URL.Path, route.Operation.OperationID)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	if err := c.validateUnrouted(resp, body, status, response); err != nil {
		t.Errorf("%s %s -> %d %s\ncontract violation: %v", req.Method, req.URL.RequestURI(), resp.StatusCode, body, err)
	}
	return resp, body
}

func (c *Contract) validateUnrouted(resp *http.Response, body []byte, status int, response string) error {
	var ref *openapi3.ResponseRef
	if c.spec.Components != nil {
		ref = c.spec.Components.Responses[response]
	}
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("the spec has no components.responses.%s", response)
	}
	c.mu.Lock()
	c.seen[unroutedKey+response] = true
	c.mu.Unlock()
	if resp.StatusCode != status {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, status)
	}
	if len(ref.Value.Content) == 0 {
		if len(body) > 0 || resp.Header.Get("Content-Type") != "" {
			return fmt.Errorf("%s declares no body, got %d bytes of %q", response, len(body), resp.Header.Get("Content-Type"))
		}
		return nil
	}
	mt := ref.Value.Content.Get(resp.Header.Get("Content-Type"))
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return fmt.Errorf("%s declares no schema for Content-Type %q", response, resp.Header.Get("Content-Type"))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return mt.Schema.Value.VisitJSON(v, openapi3.MultiErrors())
}

// unroutedKey prefixes the seen keys of components.responses named Unrouted*, which
// DoUnrouted checks and RequireAllExercised requires.
const unroutedKey = "unrouted "

func (c *Contract) validate(req *http.Request, resp *http.Response, body []byte) error {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("no operation in the spec: %w", err)
	}
	c.mu.Lock()
	c.seen[fmt.Sprintf("%s %d", route.Operation.OperationID, resp.StatusCode)] = true
	c.mu.Unlock()

	declared := route.Operation.Responses.Status(resp.StatusCode)
	if declared == nil || declared.Value == nil {
		return fmt.Errorf("status %d is not declared for %s", resp.StatusCode, route.Operation.OperationID)
	}
	if len(declared.Value.Content) == 0 {
		if len(body) > 0 {
			return fmt.Errorf("status %d declares no body, got %d bytes", resp.StatusCode, len(body))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			return fmt.Errorf("status %d declares no body, got Content-Type %q", resp.StatusCode, ct)
		}
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// Check fails the test unless resp and its body match the spec's operation for req, a
// request sent by other means: to routes that mirror the spec's under another prefix, for
// instance, with req naming the spec's path.
func (c *Contract) Check(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	if err := c.validate(req, resp, body); err != nil {
		t.Errorf("%s %s -> %d %s\ncontract violation: %v", req.Method, req.URL.RequestURI(), resp.StatusCode, body, err)
	}
}

// Absorb counts what other has seen as seen by c: for a second server of the same API
// (with other settings) whose responses belong to the same coverage.
func (c *Contract) Absorb(other *Contract) {
	other.mu.Lock()
	defer other.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range other.seen {
		c.seen[k] = true
	}
}

// Missing lists the documented "operationId status" pairs no request has produced yet.
func (c *Contract) Missing() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []string
	for _, item := range c.spec.Paths.Map() {
		for _, op := range item.Operations() {
			for status := range op.Responses.Map() {
				if k := op.OperationID + " " + status; !c.seen[k] {
					missing = append(missing, k)
				}
			}
		}
	}
	var responses openapi3.ResponseBodies
	if c.spec.Components != nil {
		responses = c.spec.Components.Responses
	}
	for name := range responses {
		if k := unroutedKey + name; strings.HasPrefix(name, "Unrouted") && !c.seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	return missing
}

// RequireAllExercised fails the test unless every operation answered with every status
// its spec documents.
func (c *Contract) RequireAllExercised(t testing.TB) {
	t.Helper()
	if m := c.Missing(); len(m) > 0 {
		t.Errorf("documented responses never exercised:\n  %s", strings.Join(m, "\n  "))
	}
}

// Request builds a request with an optional JSON body and headers given as name, value
// pairs.
func Request(t testing.TB, method, url, body string, headers ...string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}
