package delivery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Defaults of one attempt.
const (
	DefaultConnectTimeout  = 5 * time.Second
	DefaultReadTimeout     = 15 * time.Second
	DefaultMaxResponseBody = 64 << 10
	// maxAttemptTime bounds connect plus read, whatever a webhook asks for, so that an
	// attempt always ends within its claim (see claimMargin).
	maxAttemptTime = 60 * time.Second
)

// Request is one attempt's HTTP request. It is always a POST.
type Request struct {
	URL    string
	Header http.Header
	Body   []byte
	// ConnectTimeout bounds the TCP and TLS handshake; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// ReadTimeout bounds the wait for the response and its body after connecting; 0
	// means DefaultReadTimeout.
	ReadTimeout time.Duration
	// PinnedCertPEM, when set, is the only certificate the endpoint may present: it is
	// trusted even when self-signed, and any other is refused.
	PinnedCertPEM string
	// Within, when set, bounds the whole attempt below connect plus read.
	Within time.Duration
	// OmittedHeaders names the webhook's custom headers left out of Header because HTTP
	// cannot carry their name or value; the sender does not read it.
	OmittedHeaders []string
}

// Result is what one attempt got.
type Result struct {
	// Status is the HTTP status, 0 when nothing answered.
	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool
	Duration  time.Duration
	// RetryAfter is the endpoint's Retry-After (seconds or an HTTP date), 0 if none.
	RetryAfter time.Duration
	Err        error
	// ErrKind classifies Err: "timeout", "refused_target" (the SSRF guard), "dns",
	// "connect", "tls" or "other".
	ErrKind string
}

// Success reports a 2xx answer.
func (r Result) Success() bool { return r.Status >= 200 && r.Status < 300 }

// SenderOptions configure a Sender.
type SenderOptions struct {
	// AllowPrivateTargets lets deliveries reach loopback, private, link-local and other
	// non-public addresses.
	AllowPrivateTargets bool
	// AllowList are addresses deliveries may reach even when they are not public.
	AllowList []netip.Prefix
	// MaxResponseBody is how much of a response is kept (default 64 KiB).
	MaxResponseBody int
	// UserAgent is sent unless the request sets its own (default "Polyhook/1.0").
	UserAgent string
	// RootCAs, when set, replaces the system's trusted roots for endpoints without a
	// pinned certificate (for endpoints behind a private CA).
	RootCAs *x509.CertPool
}

// Sender sends attempts: SSRF-guarded at dial time, redirects not followed, per-request
// timeouts, certificate pinning, bounded response bodies. It is safe for concurrent use
// and keeps connections alive per endpoint.
type Sender struct {
	opts    SenderOptions
	targets *Targets

	mu         sync.Mutex
	transports map[[32]byte]*http.Transport // by pinned certificate; zero key: none
}

// maxTransports bounds the transports a Sender keeps, one per pinned certificate.
const maxTransports = 256

// NewSender returns a Sender.
func NewSender(opts SenderOptions) *Sender {
	if opts.MaxResponseBody <= 0 {
		opts.MaxResponseBody = DefaultMaxResponseBody
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Polyhook/1.0"
	}
	return &Sender{
		opts:       opts,
		targets:    NewTargets(opts.AllowPrivateTargets, opts.AllowList),
		transports: map[[32]byte]*http.Transport{},
	}
}

// Targets is the policy the sender checks every dialled address against.
func (s *Sender) Targets() *Targets { return s.targets }

type connectTimeoutKey struct{}

func (s *Sender) transport(pinned string) (*http.Transport, error) {
	var key [32]byte
	var pin *x509.Certificate
	if pinned != "" {
		block, _ := pem.Decode([]byte(pinned))
		if block == nil {
			return nil, errors.New("the pinned certificate is not PEM")
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the pinned certificate: %w", err)
		}
		pin, key = cert, sha256.Sum256(cert.Raw)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.transports[key]; ok {
		return t, nil
	}
	if len(s.transports) >= maxTransports {
		// Pinned certificates come from webhooks, which callers write: past the bound
		// the pinned transports are dropped and made again when next needed. Attempts
		// in flight keep theirs.
		for k, old := range s.transports {
			if k != ([32]byte{}) {
				old.CloseIdleConnections()
				delete(s.transports, k)
			}
		}
	}
	t := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			timeout, _ := ctx.Value(connectTimeoutKey{}).(time.Duration)
			d := net.Dialer{Timeout: timeout, Control: s.targets.guard.control, KeepAlive: 30 * time.Second}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   DefaultConnectTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	if s.opts.RootCAs != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: s.opts.RootCAs}
	}
	if pin != nil {
		t.TLSClientConfig = &tls.Config{
			// The usual chain check is replaced by an exact match with the pinned
			// certificate, below; nothing else is accepted.
			InsecureSkipVerify: true,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 || !bytes.Equal(raw[0], pin.Raw) {
					return errors.New("the endpoint's certificate is not the pinned one")
				}
				return nil
			},
		}
	}
	s.transports[key] = t
	return t, nil
}

// Send makes one attempt.
func (s *Sender) Send(ctx context.Context, req Request) Result {
	start := time.Now()
	res := s.send(ctx, req)
	res.Duration = time.Since(start)
	return res
}

func (s *Sender) send(ctx context.Context, req Request) Result {
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Result{Err: fmt.Errorf("not an http(s) URL: %q", req.URL), ErrKind: "other"}
	}
	t, err := s.transport(req.PinnedCertPEM)
	if err != nil {
		return Result{Err: err, ErrKind: "tls"}
	}
	connect := or(req.ConnectTimeout, DefaultConnectTimeout)
	read := or(req.ReadTimeout, DefaultReadTimeout)
	total := min(connect+read, maxAttemptTime)
	if req.Within > 0 {
		total = min(total, req.Within)
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, connectTimeoutKey{}, connect), total)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return Result{Err: err, ErrKind: "other"}
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	if hr.Header.Get("User-Agent") == "" {
		hr.Header.Set("User-Agent", s.opts.UserAgent)
	}
	client := &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(hr)
	if err != nil {
		return Result{Err: cleanError(err), ErrKind: classify(ctx, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(s.opts.MaxResponseBody)+1))
	res := Result{Status: resp.StatusCode, Header: resp.Header, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	if len(body) > s.opts.MaxResponseBody {
		body, res.Truncated = body[:s.opts.MaxResponseBody], true
		// Drain a little so the connection can be reused; beyond that, close it.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	}
	res.Body = body
	if err != nil && !res.Truncated {
		// The status arrived but the body did not finish in time: the answer counts,
		// with what was read.
		res.Err, res.ErrKind = cleanError(err), classify(ctx, err)
	}
	return res
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// retryAfter parses a Retry-After value: delay-seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func classify(ctx context.Context, err error) string {
	var refused *refusedError
	var dns *net.DNSError
	var op *net.OpError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.As(err, &refused):
		return "refused_target"
	case errors.As(err, &dns):
		return "dns"
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() == context.DeadlineExceeded,
		errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &certErr), errors.As(err, &recordErr), isTLS(err):
		return "tls"
	case errors.As(err, &op) && op.Op == "dial":
		return "connect"
	}
	return "other"
}

func isTLS(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s := e.Error(); len(s) > 4 && (bytes.Contains([]byte(s), []byte("tls:")) || bytes.Contains([]byte(s), []byte("pinned"))) {
			return true
		}
	}
	return false
}

// cleanError drops the *url.Error wrapper, whose text repeats the URL (which may carry
// credentials in its query).
func cleanError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
