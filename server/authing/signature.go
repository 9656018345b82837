package authing

import (
	"bytes"
	"container/heap"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Signature checks of the AK/SK scheme.
const (
	// MaxClockSkew is how far a request's date may be from the gateway's clock.
	MaxClockSkew = 15 * time.Minute
	// maxNonces bounds the replay cache (about 100 bytes a nonce), and maxNoncesPerKey
	// each access key's share of it.
	maxNonces       = 100_000
	maxNoncesPerKey = maxNonces / 4
)

// signedRequest is what the Node SDK signs, parsed from a request.
type signedRequest struct {
	accessKeyID string
	signature   string
	method      string
	date        time.Time
	nonce       string
	toSign      string
}

// parseSignature reads an AK/SK-signed request: "authorization: authing <AK>:<sig>", the
// date and x-authing-signature-* headers, and rebuilds the string the SDK signed from the
// request's method, headers, path and query (GET) or top-level JSON body keys (others).
// It checks everything but the HMAC, which needs the secret.
func parseSignature(r *http.Request, body []byte, now time.Time) (*signedRequest, error) {
	auth := r.Header.Get("Authorization")
	cred, ok := strings.CutPrefix(auth, "authing ")
	if !ok {
		return nil, unauthorized(codeUnauthorized, "Missing or malformed authorization header.")
	}
	ak, sig, ok := strings.Cut(strings.TrimSpace(cred), ":")
	if !ok || ak == "" || sig == "" {
		return nil, unauthorized(codeBadSignature, "Malformed signature: expected \"authing <accessKeyId>:<signature>\".")
	}
	if m := r.Header.Get("X-Authing-Signature-Method"); m != "HMAC-SHA1" {
		return nil, unauthorized(codeSignatureMethod, "Unsupported signature method: only HMAC-SHA1.")
	}
	if v := r.Header.Get("X-Authing-Signature-Version"); v != "1.0" {
		return nil, unauthorized(codeSignatureVersion, "Unsupported signature version: only 1.0.")
	}
	rawDate := r.Header.Get("Date")
	if rawDate == "" {
		return nil, unauthorized(codeMissingDate, "The date header is required.")
	}
	date, err := http.ParseTime(rawDate)
	if err != nil {
		return nil, unauthorized(codeDateFormat, "The date header must be an HTTP date (RFC 1123, GMT).")
	}
	if d := now.Sub(date); d > MaxClockSkew || d < -MaxClockSkew {
		return nil, unauthorized(codeClockSkew, "The date header is too far from the server's clock.")
	}
	nonce := r.Header.Get("X-Authing-Signature-Nonce")
	if nonce == "" {
		return nil, unauthorized(codeBadSignature, "The x-authing-signature-nonce header is required.")
	}
	resource, err := canonicalResource(r, body)
	if err != nil {
		return nil, err
	}
	return &signedRequest{
		accessKeyID: ak, signature: sig, method: r.Method, date: date, nonce: nonce,
		toSign: r.Method + "\n" + canonicalHeaders(r.Header) + resource,
	}, nil
}

// canonicalHeaders are the date and x-authing-* headers, lower-cased, sorted,
// "name:value\n" each, values with tabs and line breaks as spaces and trimmed.
func canonicalHeaders(h http.Header) string {
	var names []string
	for k := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-authing-") || lk == "date" {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	var b strings.Builder
	clean := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ", "\f", " ")
	for _, k := range names {
		b.WriteString(strings.ToLower(k) + ":" + strings.TrimSpace(clean.Replace(h.Get(k))) + "\n")
	}
	return b.String()
}

// canonicalResource is the path, then "?" and the sorted "key=value" pairs of the query
// (GET) or of the JSON body's top-level keys, values as JavaScript's template strings
// write them: strings raw, objects and arrays as JSON.
func canonicalResource(r *http.Request, body []byte) (string, error) {
	pairs := map[string]string{}
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return "", unauthorized(codeBadSignature, "Malformed query string.")
		}
		for k, v := range q {
			pairs[k] = v[len(v)-1]
		}
	} else if len(bytes.TrimSpace(body)) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return "", invalid("The request body must be a JSON object.")
		}
		for k, raw := range obj {
			pairs[k] = jsValue(raw)
		}
	}
	if len(pairs) == 0 {
		return r.URL.Path, nil
	}
	keys := make([]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + pairs[k]
	}
	return r.URL.Path + "?" + strings.Join(parts, "&"), nil
}

// jsValue writes a JSON value as `${value}` does in JavaScript, after JSON.stringify for
// objects and arrays (whose text is the request's own, compacted).
func jsValue(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return ""
	case raw[0] == '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	case raw[0] == '{' || raw[0] == '[':
		var b bytes.Buffer
		if json.Compact(&b, raw) == nil {
			return b.String()
		}
	}
	return string(raw) // numbers, true, false, null
}

// sign is the SDK's signature: base64 HMAC-SHA1 keyed with the access key secret.
func sign(secret, toSign string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// nonces remembers the nonces of correctly signed requests while a replay of them could
// pass the date check, to refuse replays. It is per process: replicas do not share it.
//
// It is bounded in entries and bytes: a nonce is kept as a 128-bit hash with its access
// key's, at most maxNonces in all and maxNoncesPerKey per access key. A nonce still in
// its window is never forgotten to make room; a full cache refuses the request instead,
// so one access key flooding it throttles only itself until the others hold a quarter.
type nonces struct {
	mu     sync.Mutex
	seen   map[nonceKey]int64 // until when (Unix nanoseconds) each is remembered
	expiry nonceHeap          // the same, soonest forgotten first
	perKey map[nonceKey]int   // nonces held by each access key
}

type nonceKey [16]byte

type nonceEntry struct {
	nonce, key nonceKey
	until      int64
}

func hash16(parts ...string) nonceKey {
	h := sha256.New()
	for _, p := range parts {
		_, _ = io.WriteString(h, p)
		_, _ = h.Write([]byte{0})
	}
	return nonceKey(h.Sum(nil)[:16])
}

// use records the access key's nonce of a request dated date. A replay can pass the date
// check until date+MaxClockSkew, so the nonce is remembered a second longer. It refuses
// a nonce seen before with 401, and a 429 when the cache, or the key's share
// of it, holds only nonces still in their window.
func (n *nonces) use(accessKeyID, nonce string, date, now time.Time) error {
	k, ak := hash16(accessKeyID, nonce), hash16(accessKeyID)
	until := date.Add(MaxClockSkew + time.Second).UnixNano()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil {
		n.seen, n.perKey = map[nonceKey]int64{}, map[nonceKey]int{}
	}
	for len(n.expiry) > 0 && n.expiry[0].until <= now.UnixNano() {
		e := heap.Pop(&n.expiry).(nonceEntry)
		delete(n.seen, e.nonce)
		if n.perKey[e.key]--; n.perKey[e.key] <= 0 {
			delete(n.perKey, e.key)
		}
	}
	if _, ok := n.seen[k]; ok {
		return unauthorized(codeReplayedNonce, "The signature nonce was used before.")
	}
	if len(n.seen) >= maxNonces || n.perKey[ak] >= maxNoncesPerKey {
		wait := MaxClockSkew // the key's own oldest is not indexed; the window bounds it
		if len(n.seen) >= maxNonces {
			wait = time.Duration(n.expiry[0].until - now.UnixNano())
		}
		return &apiError{status: http.StatusTooManyRequests, apiCode: codeThrottled,
			message:    "Too many signed requests within the clock-skew window; sign fewer, or use a management token.",
			retryAfter: int(wait.Seconds()) + 1}
	}
	n.seen[k] = until
	n.perKey[ak]++
	heap.Push(&n.expiry, nonceEntry{nonce: k, key: ak, until: until})
	return nil
}

// nonceHeap orders nonces by when they are forgotten (container/heap).
type nonceHeap []nonceEntry

func (h nonceHeap) Len() int           { return len(h) }
func (h nonceHeap) Less(i, j int) bool { return h[i].until < h[j].until }
func (h nonceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nonceHeap) Push(x any)        { *h = append(*h, x.(nonceEntry)) }
func (h *nonceHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
