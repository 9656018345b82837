package delivery

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/polyhook/polyhook/store"
)

// The request of one attempt, built from the webhook alone: its custom headers and
// basic auth, the dialect's headers and the Standard Webhooks headers (stdwebhooks.go).

// request assembles one attempt to w: the webhook's custom headers and basic auth, then
// extra headers, then the dialect's own, then the Standard Webhooks headers, each layer
// winning over the ones before it.
func request(w *store.Webhook, msgID string, at time.Time, body []byte, dialect, extra http.Header) (Request, error) {
	req := Request{
		URL:            w.URL,
		Header:         http.Header{},
		Body:           body,
		ConnectTimeout: time.Duration(w.ConnectTimeout) * time.Millisecond,
		ReadTimeout:    time.Duration(w.ReadTimeout) * time.Millisecond,
		PinnedCertPEM:  w.SSLCertificate,
	}
	// Custom headers go in name order, so that names equal but for case end the same way on
	// every attempt. A name or value HTTP cannot carry (a dialect may store "Header 1") is
	// left out and named in the attempt's record; the delivery still goes out.
	names := make([]string, 0, len(w.Headers))
	for k := range w.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v := w.Headers[k]; validHeaderName(k) && validHeaderValue(v) {
			req.Header.Set(k, v)
		} else {
			req.OmittedHeaders = append(req.OmittedHeaders, k)
		}
	}
	if w.BasicAuthUser != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(w.BasicAuthUser+":"+w.BasicAuthPassword)))
	}
	std, err := StandardHeaders(msgID, at, body, w.ActiveSecrets(at))
	if err != nil {
		return Request{}, err
	}
	for _, layer := range []http.Header{extra, dialect, std} {
		for k, vs := range layer {
			req.Header[k] = vs
		}
	}
	return req, nil
}

// validHeaderName reports whether k is an HTTP field name (RFC 9110 token), which the
// HTTP client refuses to send otherwise.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v can be sent as an HTTP field value: no control
// characters but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
