package delivery

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// open is a sender that may reach the loopback test servers.
func openSender(opts SenderOptions) *Sender {
	opts.AllowPrivateTargets = true
	return NewSender(opts)
}

// hits counts the requests a test server received.
type hits struct{ n atomic.Int32 }

func (h *hits) wrap(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { h.n.Add(1); next(w, r) }
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	_, p, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSend_Success(t *testing.T) {
	t.Parallel()
	type seen struct {
		method, path, ua, custom string
		body                     string
		user, pass               string
		basic                    bool
	}
	got := make(chan seen, 1)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u, p, ok := r.BasicAuth()
		got <- seen{r.Method, r.URL.RequestURI(), r.UserAgent(), r.Header.Get("X-Custom"), string(b), u, p, ok}
		w.Header().Set("X-Answer", "yes")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "thanks")
	})
	h := http.Header{}
	h.Set("X-Custom", "v1")
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:s3cret")))
	res := openSender(SenderOptions{}).Send(context.Background(), Request{
		URL: srv.URL + "/hook?x=1", Header: h, Body: []byte(`{"a":1}`),
	})
	if res.Err != nil || res.ErrKind != "" {
		t.Fatalf("Err = %v (%q)", res.Err, res.ErrKind)
	}
	if res.Status != http.StatusAccepted || !res.Success() {
		t.Errorf("Status = %d, Success = %v", res.Status, res.Success())
	}
	if string(res.Body) != "thanks" || res.Truncated {
		t.Errorf("Body = %q, Truncated = %v", res.Body, res.Truncated)
	}
	if res.Header.Get("X-Answer") != "yes" {
		t.Errorf("response headers not returned: %v", res.Header)
	}
	if res.Duration <= 0 {
		t.Errorf("Duration = %v", res.Duration)
	}
	s := <-got
	want := seen{http.MethodPost, "/hook?x=1", "Polyhook/1.0", "v1", `{"a":1}`, "alice", "s3cret", true}
	if s != want {
		t.Errorf("receiver saw %+v, want %+v", s, want)
	}
}

func TestSend_UserAgent(t *testing.T) {
	t.Parallel()
	ua := make(chan string, 2)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { ua <- r.UserAgent() })
	s := openSender(SenderOptions{UserAgent: "Gateway/2"})
	s.Send(context.Background(), Request{URL: srv.URL})
	if got := <-ua; got != "Gateway/2" {
		t.Errorf("User-Agent = %q, want the option", got)
	}
	s.Send(context.Background(), Request{URL: srv.URL, Header: http.Header{"User-Agent": {"Custom/3"}}})
	if got := <-ua; got != "Custom/3" {
		t.Errorf("User-Agent = %q, want the request's header to win", got)
	}
}

func TestSend_ServerError(t *testing.T) {
	t.Parallel()
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	res := openSender(SenderOptions{}).Send(context.Background(), Request{URL: srv.URL})
	if res.Status != 500 || res.Success() || res.Err != nil || res.ErrKind != "" {
		t.Errorf("got Status %d Success %v Err %v Kind %q", res.Status, res.Success(), res.Err, res.ErrKind)
	}
	if strings.TrimSpace(string(res.Body)) != "boom" {
		t.Errorf("Body = %q", res.Body)
	}
}

func TestSend_RedirectNotFollowed(t *testing.T) {
	t.Parallel()
	var target hits
	dst := serve(t, target.wrap(func(w http.ResponseWriter, r *http.Request) {}))
	for _, code := range []int{301, 302, 303, 307, 308} {
		src := serve(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, dst.URL+"/elsewhere", code)
		})
		res := openSender(SenderOptions{}).Send(context.Background(), Request{URL: src.URL, Body: []byte("x")})
		if res.Status != code || res.Success() || res.Err != nil {
			t.Errorf("%d: Status %d Success %v Err %v", code, res.Status, res.Success(), res.Err)
		}
		if loc := res.Header.Get("Location"); loc != dst.URL+"/elsewhere" {
			t.Errorf("%d: Location = %q", code, loc)
		}
	}
	if n := target.n.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

func TestSend_BodyTruncated(t *testing.T) {
	t.Parallel()
	large := strings.Repeat("0123456789", 100_000) // 1 MB, more than the drain bound
	for _, tc := range []struct {
		body      string
		max       int
		want      string
		truncated bool
	}{
		{"0123456789", 10, "0123456789", false},
		{"0123456789A", 10, "0123456789", true},
		{large, 16, "0123456789012345", true},
		{strings.Repeat("x", 70<<10), 0, strings.Repeat("x", 64<<10), true}, // default 64 KiB
		{"", 10, "", false},
	} {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, tc.body) })
		res := openSender(SenderOptions{MaxResponseBody: tc.max}).Send(context.Background(), Request{URL: srv.URL})
		if res.Status != 200 || string(res.Body) != tc.want || res.Truncated != tc.truncated {
			t.Errorf("len %d, max %d: Status %d, len(Body) %d, Truncated %v; want len %d, %v",
				len(tc.body), tc.max, res.Status, len(res.Body), res.Truncated, len(tc.want), tc.truncated)
		}
	}
}

func TestSend_RetryAfter(t *testing.T) {
	t.Parallel()
	value := make(chan string, 1)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", <-value)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	s := openSender(SenderOptions{})
	check := func(v string, lo, hi time.Duration) {
		t.Helper()
		value <- v
		res := s.Send(context.Background(), Request{URL: srv.URL})
		if res.Status != 503 || res.RetryAfter < lo || res.RetryAfter > hi {
			t.Errorf("Retry-After %q: Status %d, RetryAfter %v, want within [%v, %v]", v, res.Status, res.RetryAfter, lo, hi)
		}
	}
	check("120", 120*time.Second, 120*time.Second)
	check("0", 0, 0)
	check(time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat), 85*time.Second, 91*time.Second)
	check(time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0, 0) // in the past
	check("soon", 0, 0)
	check("-5", 0, 0)
	check("", 0, 0)
}

func TestSend_ReadTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close, which waits for handlers
	start := time.Now()
	res := openSender(SenderOptions{}).Send(context.Background(), Request{
		URL: srv.URL, ConnectTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
	})
	if res.ErrKind != "timeout" || res.Err == nil || res.Status != 0 || res.Success() {
		t.Errorf("got Status %d, Err %v, Kind %q; want a timeout", res.Status, res.Err, res.ErrKind)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the timeout took %v", el)
	}
}

// A status that arrived is kept even when the body then stalls past the read timeout.
func TestSend_SlowBody(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	start := time.Now()
	res := openSender(SenderOptions{}).Send(context.Background(), Request{
		URL: srv.URL, ConnectTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
	})
	if res.Status != 200 || string(res.Body) != "partial" {
		t.Errorf("Status %d, Body %q, Err %v; want 200 and the partial body", res.Status, res.Body, res.Err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("a stalled body held the attempt for %v", el)
	}
}

// The caller's context still bounds an attempt.
func TestSend_ContextCancelled(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close, which waits for handlers
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := openSender(SenderOptions{}).Send(ctx, Request{URL: srv.URL})
	if res.Err == nil || res.Status != 0 || time.Since(start) > 2*time.Second {
		t.Errorf("got Status %d, Err %v after %v", res.Status, res.Err, time.Since(start))
	}
}

// fullListener returns a loopback address whose accept queue is full, so that a new
// connection hangs in the TCP handshake: a reliable local connect timeout.
func fullListener(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux listen(2) backlog semantics")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), 0) }); err != nil || lerr != nil {
		t.Fatalf("listen backlog 0: %v %v", err, lerr)
	}
	for range 8 {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err != nil {
			return ln.Addr().String() // the queue is full
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill the accept queue")
	return ""
}

func TestSend_ConnectTimeout(t *testing.T) {
	t.Parallel()
	addr := fullListener(t)
	start := time.Now()
	res := openSender(SenderOptions{}).Send(context.Background(), Request{
		URL: "http://" + addr + "/", ConnectTimeout: 200 * time.Millisecond, ReadTimeout: 5 * time.Second,
	})
	el := time.Since(start)
	if res.ErrKind != "timeout" || res.Status != 0 {
		t.Errorf("got Status %d, Err %v, Kind %q; want a timeout", res.Status, res.Err, res.ErrKind)
	}
	// The connect timeout, not connect+read, bounds the handshake.
	if el < 150*time.Millisecond || el > 2*time.Second {
		t.Errorf("connect timeout of 200ms took %v", el)
	}
}

// An endpoint that accepts TCP but never completes the TLS handshake is bounded by
// the connect timeout too (Request.ConnectTimeout covers "the TCP and TLS handshake").
func TestSend_TLSHandshakeTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	start := time.Now()
	res := openSender(SenderOptions{}).Send(context.Background(), Request{
		URL: "https://" + ln.Addr().String() + "/", ConnectTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
	})
	if res.ErrKind != "timeout" || res.Status != 0 {
		t.Errorf("got Status %d, Err %v, Kind %q; want a timeout", res.Status, res.Err, res.ErrKind)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("a silent TLS endpoint held the attempt for %v", el)
	}
}

func TestSend_ConnectRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res := openSender(SenderOptions{}).Send(context.Background(), Request{URL: "http://" + addr + "/"})
	if res.ErrKind != "connect" || res.Err == nil || res.Status != 0 {
		t.Errorf("got Status %d, Err %v, Kind %q; want connect", res.Status, res.Err, res.ErrKind)
	}
}

func TestSend_DNSFailure(t *testing.T) {
	t.Parallel()
	res := openSender(SenderOptions{}).Send(context.Background(), Request{
		URL: "http://no-such-host.invalid/", ConnectTimeout: 2 * time.Second,
	})
	if res.ErrKind != "dns" || res.Err == nil {
		t.Errorf("got Err %v, Kind %q; want dns", res.Err, res.ErrKind)
	}
}

func TestSend_RefusesOtherSchemes(t *testing.T) {
	t.Parallel()
	s := openSender(SenderOptions{})
	for _, u := range []string{"ftp://example.com/x", "file:///etc/passwd", "gopher://example.com", "example.com/hook", "//example.com/x", "http://", ""} {
		res := s.Send(context.Background(), Request{URL: u})
		if res.Err == nil || res.Status != 0 || res.Success() {
			t.Errorf("%q: Status %d, Err %v", u, res.Status, res.Err)
		}
	}
}

func TestSend_SSRFRefused(t *testing.T) {
	t.Parallel()
	var got hits
	srv := serve(t, got.wrap(func(w http.ResponseWriter, r *http.Request) {}))
	p := port(t, srv)
	s := NewSender(SenderOptions{})
	for _, tc := range []struct{ url, class string }{
		{"http://127.0.0.1:" + p + "/", "loopback"},
		{"http://[::1]:" + p + "/", "loopback"},
		{"http://localhost:" + p + "/", "loopback"}, // a name resolving to loopback
		{"http://[::ffff:127.0.0.1]:" + p + "/", "loopback"},
		{"http://[64:ff9b::7f00:1]:" + p + "/", "loopback"},
		{"http://10.0.0.1/", "private"},
		{"http://192.168.0.1:8080/", "private"},
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://[::ffff:169.254.169.254]/", "link-local"},
		{"http://100.64.0.1/", "carrier-grade NAT"},
		{"http://0.0.0.0:" + p + "/", "unspecified"},
		{"http://[fd00::1]/", "unique local"},
		{"https://127.0.0.1:" + p + "/", "loopback"},
	} {
		res := s.Send(context.Background(), Request{URL: tc.url, ConnectTimeout: time.Second, ReadTimeout: time.Second})
		if res.ErrKind != "refused_target" || res.Status != 0 || res.Err == nil {
			t.Errorf("%s: Status %d, Err %v, Kind %q; want refused_target", tc.url, res.Status, res.Err, res.ErrKind)
			continue
		}
		if !strings.Contains(res.Err.Error(), tc.class) {
			t.Errorf("%s: error %q does not name the %s class", tc.url, res.Err, tc.class)
		}
	}
	if n := got.n.Load(); n != 0 {
		t.Errorf("the loopback server got %d requests", n)
	}
}

// A URL with a zoned link-local address (the dialer passes "fe80::1%lo" to the guard)
// must be refused as link-local, not attempted.
func TestSend_SSRFRefusesZonedLinkLocal(t *testing.T) {
	t.Parallel()
	zone := "lo"
	if runtime.GOOS != "linux" {
		t.Skip("uses the Linux loopback interface name")
	}
	res := NewSender(SenderOptions{}).Send(context.Background(), Request{
		URL: "http://[fe80::1%25" + zone + "]:80/", ConnectTimeout: time.Second, ReadTimeout: time.Second,
	})
	if res.ErrKind != "refused_target" {
		t.Errorf("got Err %v, Kind %q; want refused_target", res.Err, res.ErrKind)
	}
}

func TestSend_SSRFAllowed(t *testing.T) {
	t.Parallel()
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	p := port(t, srv)
	for _, tc := range []struct {
		name string
		opts SenderOptions
		url  string
		ok   bool
	}{
		{"allow private", SenderOptions{AllowPrivateTargets: true}, "http://127.0.0.1:" + p, true},
		{"allow private, name", SenderOptions{AllowPrivateTargets: true}, "http://localhost:" + p, true},
		{"allow list", SenderOptions{AllowList: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "http://127.0.0.1:" + p, true},
		{"allow list, mapped", SenderOptions{AllowList: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, "http://[::ffff:127.0.0.1]:" + p, true},
		{"allow list, name", SenderOptions{AllowList: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}, "http://localhost:" + p, true},
		{"allow list misses", SenderOptions{AllowList: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "http://127.0.0.1:" + p, false},
		{"allow list is exact", SenderOptions{AllowList: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}, "http://127.0.0.1:" + p, false},
	} {
		res := NewSender(tc.opts).Send(context.Background(), Request{URL: tc.url})
		if tc.ok && (!res.Success() || res.Err != nil) {
			t.Errorf("%s: Status %d, Err %v", tc.name, res.Status, res.Err)
		}
		if !tc.ok && res.ErrKind != "refused_target" {
			t.Errorf("%s: Status %d, Err %v, Kind %q; want refused_target", tc.name, res.Status, res.Err, res.ErrKind)
		}
	}
}

// certPEM returns srv's leaf certificate as PEM.
func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// selfSigned returns a fresh self-signed certificate for 127.0.0.1 and localhost.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "other"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func TestSend_PinnedCertificate(t *testing.T) {
	t.Parallel()
	var got hits
	sni := make(chan string, 10)
	srv := httptest.NewUnstartedServer(got.wrap(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "pinned") }))
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni <- h.ServerName
		return nil, nil
	}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s := openSender(SenderOptions{})

	// The server's own (self-signed, otherwise untrusted) certificate pinned: accepted,
	// and SNI still carries the URL's host.
	url := "https://localhost:" + port(t, srv) + "/"
	res := s.Send(context.Background(), Request{URL: url, PinnedCertPEM: certPEM(srv.Certificate())})
	if !res.Success() || res.Err != nil || string(res.Body) != "pinned" {
		t.Fatalf("pinned: Status %d, Err %v, Body %q", res.Status, res.Err, res.Body)
	}
	if name := <-sni; name != "localhost" {
		t.Errorf("SNI = %q, want localhost", name)
	}

	// Another certificate pinned: refused before any request is sent.
	other := selfSigned(t)
	res = s.Send(context.Background(), Request{URL: url, PinnedCertPEM: certPEM(other.Leaf)})
	if res.ErrKind != "tls" || res.Status != 0 || res.Err == nil {
		t.Errorf("other pin: Status %d, Err %v, Kind %q; want tls", res.Status, res.Err, res.ErrKind)
	}

	// Nothing pinned: the usual verification, which an untrusted certificate fails.
	res = s.Send(context.Background(), Request{URL: url})
	if res.ErrKind != "tls" || res.Status != 0 {
		t.Errorf("no pin: Status %d, Err %v, Kind %q; want tls", res.Status, res.Err, res.ErrKind)
	}

	// A pin that is not a certificate.
	res = s.Send(context.Background(), Request{URL: url, PinnedCertPEM: "not a certificate"})
	if res.Err == nil || res.Status != 0 {
		t.Errorf("bad pin: Status %d, Err %v", res.Status, res.Err)
	}

	if n := got.n.Load(); n != 1 {
		t.Errorf("the server handled %d requests, want only the pinned one", n)
	}
}

// A pinned self-signed certificate works for an endpoint that is not httptest's.
func TestSend_PinnedSelfSigned(t *testing.T) {
	t.Parallel()
	cert := selfSigned(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s := openSender(SenderOptions{})
	if res := s.Send(context.Background(), Request{URL: srv.URL, PinnedCertPEM: certPEM(cert.Leaf)}); !res.Success() {
		t.Errorf("own pin: Status %d, Err %v", res.Status, res.Err)
	}
	if res := s.Send(context.Background(), Request{URL: srv.URL, PinnedCertPEM: certPEM(selfSigned(t).Leaf)}); res.ErrKind != "tls" {
		t.Errorf("wrong pin: Status %d, Err %v, Kind %q", res.Status, res.Err, res.ErrKind)
	}
}

// Connections are reused across attempts, and the Sender is safe for concurrent use.
func TestSend_ReusesConnectionsAndIsConcurrent(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s := openSender(SenderOptions{})
	for i := range 5 {
		if res := s.Send(context.Background(), Request{URL: srv.URL, Body: []byte(fmt.Sprint(i))}); !res.Success() {
			t.Fatalf("attempt %d: %d %v", i, res.Status, res.Err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 sequential attempts opened %d connections, want 1", n)
	}

	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := s.Send(context.Background(), Request{URL: srv.URL, Body: []byte("x")}); !res.Success() {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of 32 concurrent attempts failed", n)
	}
}

// A hanging endpoint does not hold up attempts to another endpoint on the same Sender.
func TestSend_SlowEndpointIsolated(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var hanging atomic.Int32
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close, which waits for handlers
	fast := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	s := openSender(SenderOptions{})
	for range 4 {
		go s.Send(context.Background(), Request{URL: slow.URL, ReadTimeout: 3 * time.Second})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := until(ctx, func() bool { return hanging.Load() == 4 }); err != nil {
		t.Fatal("the slow endpoint's requests did not all arrive")
	}
	start := time.Now()
	if res := s.Send(context.Background(), Request{URL: fast.URL}); !res.Success() || time.Since(start) > time.Second {
		t.Errorf("fast endpoint: Status %d, Err %v after %v", res.Status, res.Err, time.Since(start))
	}
}

// Each pinned certificate gets a transport of its own; webhooks with ever new
// certificates do not grow the sender without bound.
func TestSend_PinnedTransportsBounded(t *testing.T) {
	t.Parallel()
	s := NewSender(SenderOptions{})
	if _, err := s.transport(""); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < maxTransports+10; i++ {
		if _, err := s.transport(certPEM(selfSigned(t).Leaf)); err != nil {
			t.Fatal(err)
		}
		if n := len(s.transports); n > maxTransports {
			t.Fatalf("%d transports after %d certificates", n, i+1)
		}
	}
	if _, ok := s.transports[[32]byte{}]; !ok {
		t.Error("the unpinned transport was dropped")
	}
}
