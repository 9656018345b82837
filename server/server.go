// Package server is the HTTP side of Polyhook: the Echo instance every API is served from,
// the seam each dialect plugs into, and the plumbing they share (per-API middleware, error
// rendering, request logs).
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
)

// API is a set of routes served by the gateway.
type API interface {
	// Register adds the API's routes to r.
	Register(r *Router)
}

// Dialect is one vendor's webhook API, served at the vendor's own paths, and every fact
// about the vendor the rest of the gateway needs: its part in delivery (Encoder: event
// names and its column of the catalogue, scope, wire format, secret headers, retry
// vocabulary) and the shape of its credentials. A dialect package exports
// New(Deps) *Dialect; the gateway's list of dialects is one line per dialect.
type Dialect interface {
	API
	// Name is the dialect's name, as used in the native API (e.g. "fusionauth").
	Name() string
	// Encoder is the dialect's part in delivery.
	Encoder() delivery.Encoder
	// MintCredential creates a credential for this dialect and returns it with the
	// secrets that are shown once. A request field the dialect does not take is EINVALID.
	MintCredential(ctx context.Context, req CredentialRequest) (*MintedCredential, error)
	// CredentialFields is what the native API shows of a stored credential besides its
	// id, dialect, name and creation time, under the dialect's own names; never a secret.
	CredentialFields(c *store.Credential) map[string]any
}

// CredentialRequest asks for a credential.
type CredentialRequest struct {
	Name string
	// Fields are the rest of the request, by name (an Xsolla credential's projectIds):
	// the dialect decodes those it takes and refuses the others.
	Fields map[string]json.RawMessage
}

// Refuse returns the EINVALID error for the first field of the request, in name order,
// that is not among taken; nil when there is none.
func (r CredentialRequest) Refuse(dialect string, taken ...string) error {
	names := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		if !slices.Contains(taken, k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return store.Errorf(store.EINVALID, "A %s credential takes no %s.", dialect, names[0])
}

// MintedCredential is a new credential and what its holder needs to use it.
type MintedCredential struct {
	Credential *store.Credential
	// Fields are what the holder needs (ids, secrets shown this once, scope), under the
	// dialect's own names, as the native API answers them.
	Fields map[string]any
}

// Field is the text field name of m.Fields, "" when it has none.
func (m *MintedCredential) Field(name string) string {
	s, _ := m.Fields[name].(string)
	return s
}

// Server serves every registered API on one handler.
type Server struct {
	echo     *echo.Echo
	log      *slog.Logger
	dialects map[string]Dialect
	unrouted []unrouted

	// MaxBodyBytes bounds every request body of every API (DefaultMaxBodyBytes unless
	// set): a larger one is answered 413 in the API's own envelope, before it is read
	// when its length is announced, and as soon as the limit is crossed otherwise.
	MaxBodyBytes int64
}

// unrouted is an API's answer to requests under prefix that no route takes.
type unrouted struct {
	prefix string
	answer func(c echo.Context, err error) error
}

// DefaultMaxBodyBytes is the body limit when none is configured: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// New returns a server with no APIs yet.
func New(log *slog.Logger) *Server {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{echo: e, log: log, dialects: map[string]Dialect{}, MaxBodyBytes: DefaultMaxBodyBytes}
	// Routes that exist in no API (and anything an API lets through) get a plain JSON error.
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		if err == echo.ErrNotFound || err == echo.ErrMethodNotAllowed { // the router's own
			if answer := s.unroutedAnswer(c.Request().URL.Path); answer != nil {
				if aerr := answer(c, err); aerr == nil || c.Response().Committed {
					return
				}
			}
		}
		code := http.StatusInternalServerError
		if he, ok := err.(*echo.HTTPError); ok {
			code = he.Code
		} else {
			s.log.Error("unhandled error", "method", c.Request().Method, "path", c.Path(), "request_id", requestID(c), "err", err)
		}
		msg := http.StatusText(code)
		if code == http.StatusNotFound {
			msg = "Nothing is served at " + c.Request().URL.Path + "."
		}
		_ = c.JSON(code, map[string]any{"error": map[string]string{"code": codeName(code), "message": msg}})
	}
	// HEAD is answered wherever GET is: routed as a GET, answered as a HEAD (net/http
	// sends the headers and drops the body).
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Method == http.MethodHead {
				c.Request().Method = http.MethodGet
				c.Set(headKey, true)
			}
			return next(c)
		}
	})
	e.Use(s.logRequests)
	return s
}

// headKey marks a HEAD request routed as a GET.
const headKey = "server.head"

// unroutedAnswer returns the answer of the API whose longest prefix holds path, nil when
// none does.
func (s *Server) unroutedAnswer(path string) func(c echo.Context, err error) error {
	var best *unrouted
	for i := range s.unrouted {
		u := &s.unrouted[i]
		if (path == u.prefix || strings.HasPrefix(path, u.prefix+"/")) && (best == nil || len(u.prefix) > len(best.prefix)) {
			best = u
		}
	}
	if best == nil {
		return nil
	}
	return best.answer
}

func codeName(status int) string {
	switch status {
	case http.StatusNotFound:
		return store.ENOTFOUND
	case http.StatusUnauthorized:
		return store.EUNAUTHORIZED
	case http.StatusInternalServerError:
		return store.EINTERNAL
	}
	return store.EINVALID
}

// Register adds the APIs' routes and remembers the dialects among them.
func (s *Server) Register(apis ...API) {
	for _, a := range apis {
		if d, ok := a.(Dialect); ok {
			s.dialects[d.Name()] = d
		}
		a.Register(&Router{echo: s.echo, srv: s, mw: []echo.MiddlewareFunc{s.limitBody}})
	}
}

// Dialect returns the registered dialect with the given name.
func (s *Server) Dialect(name string) (Dialect, bool) {
	d, ok := s.dialects[name]
	return d, ok
}

// DialectNames lists the registered dialects, sorted.
func (s *Server) DialectNames() []string {
	names := make([]string, 0, len(s.dialects))
	for n := range s.dialects {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Logger is the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// ServeHTTP serves every registered API.
//
// An HTTP/1 request framed by Transfer-Encoding is answered with the connection closed
// after it. net/http reads such a body as chunked and drops any Content-Length the
// request came with, so no handler can tell whether it had both, which RFC 9112 §6.1
// says to answer and then close: behind a front end that framed the request by its
// Content-Length, the bytes after the chunked body would otherwise be read as a second
// request the front end never saw (CL.TE smuggling). Clients that send chunked bodies
// only reconnect.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close")
	}
	s.echo.ServeHTTP(w, r)
}

// HTTP metrics, by route pattern (never the raw path, which holds ids).
var (
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polyhook_http_requests_total",
		Help: "API requests by route, method and status.",
	}, []string{"route", "method", "status"})
	httpSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "polyhook_http_request_duration_seconds",
		Help:    "API request latency by route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
)

// Collectors returns the HTTP metrics.
func Collectors() []prometheus.Collector { return []prometheus.Collector{httpRequests, httpSeconds} }

// tracer makes a span per API request; it is OpenTelemetry's global one, a no-op unless
// the command installs a provider.
var tracer = otel.Tracer("github.com/polyhook/polyhook/server")

// logRequests logs one line per request at debug level, never headers or bodies (which
// carry credentials), and counts it.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		if head, _ := c.Get(headKey).(bool); head {
			req.Method = http.MethodHead
		}
		// Every answer carries a request id, the client's own when it sent a usable one,
		// so that a line of the log can be found from an answer and the other way round.
		id := req.Header.Get(HeaderRequestID)
		if !usableRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header().Set(HeaderRequestID, id)
		ctx := otel.GetTextMapPropagator().Extract(req.Context(), propagation.HeaderCarrier(req.Header))
		ctx, span := tracer.Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindServer))
		if span.IsRecording() { // tracing is on: handlers' spans become its children
			c.SetRequest(req.WithContext(ctx))
		}
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		d := time.Since(start)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		if span.IsRecording() {
			span.SetName(req.Method + " " + route)
			span.SetAttributes(attribute.String("http.request.method", req.Method), attribute.String("http.route", route),
				attribute.Int("http.response.status_code", c.Response().Status))
			if c.Response().Status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(c.Response().Status))
			}
		}
		span.End()
		httpRequests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
		httpSeconds.WithLabelValues(route).Observe(d.Seconds())
		attrs := []any{"method", c.Request().Method, "route", route, "status", c.Response().Status,
			"duration_ms", float64(d.Microseconds()) / 1000, "request_id", id}
		if span.SpanContext().HasTraceID() {
			attrs = append(attrs, "trace_id", span.SpanContext().TraceID().String())
		}
		s.log.Debug("request", attrs...)
		return nil
	}
}

// HeaderRequestID carries a request's id, in the answer to every request.
const HeaderRequestID = "X-Request-Id"

// usableRequestID reports whether a client's request id may be echoed and logged: short,
// printable ASCII with no spaces.
func usableRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}

// requestID is the id logRequests gave the request.
func requestID(c echo.Context) string { return c.Response().Header().Get(HeaderRequestID) }

// maxBodyKey holds the body limit in the context of a request, for Errors.
const maxBodyKey = "server.maxBody"

// limitBody bounds the request body while it is read, whoever reads it (a handler, a
// form parser, a signature check): past the limit the read fails, and the server closes
// the connection after the answer rather than read the rest.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		n := s.MaxBodyBytes
		if n <= 0 {
			n = DefaultMaxBodyBytes
		}
		req := c.Request()
		req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, n)
		c.Set(maxBodyKey, n)
		return next(c)
	}
}

// tooLarge is the ETOOLARGE error for a body over n bytes.
func tooLarge(n int64) error {
	return store.Errorf(store.ETOOLARGE, "The request body is larger than %d bytes.", n)
}

// BodyError returns the ETOOLARGE error when err is a body read that crossed the limit,
// and nil otherwise: for readers of the body other than ReadBody (form parsers).
func BodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit)
	}
	return nil
}

// RetryAfterUnavailable is the Retry-After, in seconds, of a 503 for a database outage.
const RetryAfterUnavailable = "5"

// Handle serves h at method and path, outside every API's middleware.
func (s *Server) Handle(method, path string, h http.Handler) {
	s.echo.Add(method, path, echo.WrapHandler(h))
}

// Router adds routes with a fixed middleware chain to the server. It satisfies the
// EchoRouter interface of every generated package, so generated handlers register through
// it; each API gets its own chain without Echo groups colliding on shared prefixes.
type Router struct {
	echo *echo.Echo
	srv  *Server
	mw   []echo.MiddlewareFunc
}

// With returns a router whose routes also run mw, after r's own middleware.
func (r *Router) With(mw ...echo.MiddlewareFunc) *Router {
	return &Router{echo: r.echo, srv: r.srv, mw: append(append([]echo.MiddlewareFunc{}, r.mw...), mw...)}
}

// Unrouted makes answer the reply to requests at or below any of prefixes that no route
// takes: err is echo.ErrNotFound for a path no route has, echo.ErrMethodNotAllowed for a
// method its route lacks. A dialect answers them as its vendor does rather than in the
// native envelope; the longest matching prefix of all APIs wins. No middleware runs.
func (r *Router) Unrouted(answer func(c echo.Context, err error) error, prefixes ...string) {
	for _, p := range prefixes {
		r.srv.unrouted = append(r.srv.unrouted, unrouted{prefix: strings.TrimSuffix(p, "/"), answer: answer})
	}
}

func (r *Router) chain(m []echo.MiddlewareFunc) []echo.MiddlewareFunc {
	return append(append([]echo.MiddlewareFunc{}, r.mw...), m...)
}

// Route methods, as in echo.Echo.

func (r *Router) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.echo.CONNECT(p, h, r.chain(m)...)
}
func (r *Router) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.echo.DELETE(p, h, r.chain(m)...)
}
func (r *Router) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.echo.GET(p, h, r.chain(m)...)
}
func (r *Router) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.echo.HEAD(p, h, r.chain(m)...)
}
func (r *Router) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.echo.OPTIONS(p, h, r.chain(m)...)
}
func (r *Router) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.echo.PATCH(p, h, r.chain(m)...)
}
func (r *Router) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.echo.POST(p, h, r.chain(m)...)
}
func (r *Router) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.echo.PUT(p, h, r.chain(m)...)
}
func (r *Router) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.echo.TRACE(p, h, r.chain(m)...)
}

// Errors returns middleware that hands every error the rest of the chain returns, and any
// panic, to render, which writes it in the API's own envelope. Errors rendered as a 5xx are
// logged; render must not show the text of errors that are not coded.
func Errors(log *slog.Logger, render func(c echo.Context, err error) error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panic: %v", p)
					log.Error("panic in handler", "method", c.Request().Method, "route", c.Path(), "request_id", requestID(c), "panic", p)
					if !c.Response().Committed {
						err = render(c, err)
					}
				}
			}()
			if n, ok := c.Get(maxBodyKey).(int64); ok && c.Request().ContentLength > n {
				// Announced too large: refused before a byte of it is read.
				err = tooLarge(n)
			} else {
				err = next(c)
			}
			if err == nil || c.Response().Committed {
				return err
			}
			switch store.ErrorCode(err) {
			case store.EUNAVAILABLE:
				c.Response().Header().Set("Retry-After", RetryAfterUnavailable)
			case store.ETOOLARGE:
				// The rest of the body is not read: the connection cannot be reused.
				c.Response().Header().Set(echo.HeaderConnection, "close")
			}
			rerr := render(c, err)
			if c.Response().Status == http.StatusServiceUnavailable {
				// An outage is the database's, not a bug: one line per request, at warn.
				log.Warn("request refused: the database is unavailable", "method", c.Request().Method, "route", c.Path(), "request_id", requestID(c), "err", err)
			} else if c.Response().Status >= 500 {
				// Only failures of the gateway itself are logged; a client's mistake is
				// answered, not logged.
				log.Error("request failed", "method", c.Request().Method, "route", c.Path(), "request_id", requestID(c), "err", err)
			}
			return rerr
		}
	}
}

// ReadBody reads the request body, which the server bounds (Server.MaxBodyBytes). A
// larger body is an ETOOLARGE error.
func ReadBody(c echo.Context) ([]byte, error) {
	var buf bytes.Buffer
	// A length announced within the limit is read into one buffer of that size, rather
	// than into ones doubling from 512 bytes (twice the body's size allocated in all).
	if n, ok := c.Get(maxBodyKey).(int64); ok && c.Request().ContentLength > 0 && c.Request().ContentLength <= n {
		buf.Grow(int(c.Request().ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(c.Request().Body)
	body := buf.Bytes()
	if err != nil {
		if e := BodyError(err); e != nil {
			return nil, e
		}
		return nil, &store.Error{Code: store.EINVALID, Message: "Cannot read the request body.", Err: err}
	}
	return body, nil
}

// Deps are what every API is built from.
type Deps struct {
	DB *store.DB
	// Engine is the delivery engine, for dialects that publish or send (a test event).
	Engine *delivery.Engine
	Keys   *Keys
	Log    *slog.Logger
	// Limiter bounds each credential's request rate; nil allows everything. Dialects
	// that document a rate limit (Xsolla, Authing, Nursa) answer 429 in their own
	// envelope when it is exceeded.
	Limiter *Limiter
	// Logins throttles failed logins; nil never throttles.
	Logins *Logins
	// MaxBodyBytes bounds every request body; zero is DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Targets is the delivery engine's policy of which addresses deliveries may reach;
	// dialects refuse webhook URLs it refuses, in their own validation error. Nil checks
	// nothing when webhooks are written (deliveries are still checked when sent).
	Targets TargetPolicy
}

// TargetPolicy checks a webhook URL against the addresses deliveries may reach, without
// resolving names. The error says why, for the client.
type TargetPolicy interface {
	CheckURL(raw string) error
}

// CheckTarget checks a webhook URL against d.Targets; see Deps.Targets.
func (d Deps) CheckTarget(raw string) error {
	if d.Targets == nil {
		return nil
	}
	return d.Targets.CheckURL(raw)
}
