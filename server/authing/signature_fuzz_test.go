package authing

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzParseSignature feeds the AK/SK signature parser arbitrary headers, queries and
// bodies: it never panics, rejects only with an Authing 400/401 and a documented apiCode,
// and what it accepts carries the header values it was given.
func FuzzParseSignature(f *testing.F) {
	now := time.Date(2026, 11, 22, 7, 56, 28, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	for _, s := range []struct{ method, auth, sigMethod, version, date, nonce, query, body string }{
		{"POST", "authing 65f0a1b2c3d4e5f6a7b8c9d0:c2ln", "HMAC-SHA1", "1.0", date, "0508b9", "", `{"name":"n","events":["user:created"],"enabled":true}`},
		{"GET", "authing ak:sig", "HMAC-SHA1", "1.0", date, "n", "limit=10&page=1", ""},
		{"GET", "authing ak:sig", "HMAC-SHA1", "1.0", date, "n", "a=%zz", ""},
		{"POST", "authing ak:sig", "HMAC-SHA1", "1.0", date, "n", "", `[1,2]`},
		{"POST", "authing ak:sig", "HMAC-SHA1", "1.0", date, "n", "", `{"a":{"b":[1, 2]},"c":null,"d":1e400}`},
		{"POST", "authing :", "HMAC-SHA1", "1.0", date, "n", "", ""},
		{"POST", "authing ak:sig", "HMAC-SHA256", "1.0", date, "n", "", ""},
		{"POST", "authing ak:sig", "HMAC-SHA1", "2.0", date, "n", "", ""},
		{"POST", "authing ak:sig", "HMAC-SHA1", "1.0", "yesterday", "n", "", ""},
		{"POST", "authing ak:sig", "HMAC-SHA1", "1.0", "", "n", "", ""},
		{"POST", "authing ak:sig", "HMAC-SHA1", "1.0", "Sun, 22 Nov 2026 09:56:28 GMT", "n", "", ""},
		{"POST", "authing ak:sig", "HMAC-SHA1", "1.0", date, "", "", ""},
		{"POST", "Bearer x", "", "", "", "", "", ""},
	} {
		f.Add(s.method, s.auth, s.sigMethod, s.version, s.date, s.nonce, s.query, s.body)
	}
	codes := map[int]bool{codeBadSignature: true, codeSignatureMethod: true, codeSignatureVersion: true,
		codeDateFormat: true, codeMissingDate: true, codeClockSkew: true, codeUnauthorized: true, codeInvalidArgument: true}
	f.Fuzz(func(t *testing.T, method, auth, sigMethod, version, date, nonce, query, body string) {
		if method != http.MethodGet {
			method = http.MethodPost
		}
		r := httptest.NewRequest(method, "/api/v3/create-webhook", nil)
		r.URL.RawQuery = query
		for k, v := range map[string]string{"Authorization": auth, "X-Authing-Signature-Method": sigMethod,
			"X-Authing-Signature-Version": version, "Date": date, "X-Authing-Signature-Nonce": nonce} {
			r.Header.Set(k, v)
		}
		sr, err := parseSignature(r, []byte(body), now)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || (ae.status != 400 && ae.status != 401) || !codes[ae.apiCode] {
				t.Fatalf("not an Authing 400/401: %#v", err)
			}
			return
		}
		if !strings.HasPrefix(auth, "authing "+sr.accessKeyID+":") || sr.nonce != nonce || sr.accessKeyID == "" || sr.signature == "" {
			t.Fatalf("accepted %q (nonce %q) as %+v", auth, nonce, sr)
		}
		if d := now.Sub(sr.date); d > MaxClockSkew || d < -MaxClockSkew {
			t.Fatalf("accepted a date %v away", d)
		}
		if !strings.HasPrefix(sr.toSign, method+"\n") || !strings.Contains(sr.toSign, "\n/api/v3/create-webhook") {
			t.Fatalf("string to sign %q", sr.toSign)
		}
	})
}
