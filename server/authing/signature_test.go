package authing_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server/servertest"
)

// signed builds a request the way authing-node-sdk 4.0.1 does (buildSignature.ts), written
// again here independently of the gateway's verifier.
func signed(t *testing.T, base, method, path, body string, params map[string]string, ak, sk string, edit func(h map[string]string)) *http.Request {
	t.Helper()
	h := map[string]string{
		"date":                        time.Now().UTC().Format(http.TimeFormat),
		"x-authing-signature-nonce":   "n-" + time.Now().Format("150405.000000000"),
		"x-authing-signature-method":  "HMAC-SHA1",
		"x-authing-signature-version": "1.0",
		"x-authing-sdk-version":       "authing-node-sdk:4.0.1",
		"x-authing-lang":              "zh-CN",
	}
	if edit != nil {
		edit(h)
	}
	var names []string
	for k := range h {
		if strings.HasPrefix(k, "x-authing-") || k == "date" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	toSign := method + "\n"
	for _, k := range names {
		toSign += k + ":" + strings.TrimSpace(h[k]) + "\n"
	}
	values := map[string]string{}
	for k, v := range params {
		values[k] = v
	}
	if body != "" {
		// JSON.stringify keeps an object's key order, so nested values are the body's own
		// text; strings are written without quotes.
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &obj); err != nil {
			t.Fatal(err)
		}
		for k, v := range obj {
			var s string
			if json.Unmarshal(v, &s) == nil {
				values[k] = s
			} else {
				values[k] = string(v)
			}
		}
	}
	resource := path
	if len(values) > 0 {
		var keys, pairs []string
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			pairs = append(pairs, k+"="+values[k])
		}
		resource += "?" + strings.Join(pairs, "&")
	}
	m := hmac.New(sha1.New, []byte(sk))
	m.Write([]byte(toSign + resource))
	url := base + path
	if len(params) > 0 {
		var q []string
		for k, v := range params {
			q = append(q, k+"="+v)
		}
		url += "?" + strings.Join(q, "&")
	}
	req := servertest.Request(t, method, url, body)
	for k, v := range h {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Authorization", "authing "+ak+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return req
}

func TestSignatureChecks(t *testing.T) {
	g := start(t, nil)
	m := g.mint(t)
	send := func(req *http.Request) envelope {
		t.Helper()
		resp, b := g.contract.Do(t, req)
		var e envelope
		if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		return e
	}
	body := `{"name":"n","url":"https://example.com/x","events":["login"],"contentType":"application/json","retryConfig":{"enabled":true,"count":1}}`
	req := signed(t, g.url, "POST", "/api/v3/create-webhook", body, nil, m.Field("accessKeyId"), m.Field("accessKeySecret"), nil)
	if e := send(req); e.StatusCode != 200 {
		t.Fatalf("signed create: %+v", e)
	}
	// The same nonce and date again, freshly signed: a replay.
	replay := signed(t, g.url, "POST", "/api/v3/create-webhook", body, nil, m.Field("accessKeyId"), m.Field("accessKeySecret"), func(h map[string]string) {
		h["x-authing-signature-nonce"] = req.Header.Get("x-authing-signature-nonce")
		h["date"] = req.Header.Get("date")
	})
	if e := send(replay); e.StatusCode != 401 || e.APICode != 1306 {
		t.Errorf("replayed nonce: %+v", e)
	}
	if e := send(signed(t, g.url, "GET", "/api/v3/list-webhooks", "", map[string]string{"page": "1", "limit": "10"}, m.Field("accessKeyId"), m.Field("accessKeySecret"), nil)); e.StatusCode != 200 {
		t.Errorf("signed GET with a query: %+v", e)
	}
	for _, tc := range []struct {
		name string
		edit func(h map[string]string)
		ak   string
		sk   string
		code int
	}{
		{"wrong secret", nil, m.Field("accessKeyId"), "wrong", 1300},
		{"unknown key", nil, "000000000000000000000000", m.Field("accessKeySecret"), 1300},
		{"method", func(h map[string]string) { h["x-authing-signature-method"] = "HMAC-SHA256" }, m.Field("accessKeyId"), m.Field("accessKeySecret"), 1301},
		{"version", func(h map[string]string) { h["x-authing-signature-version"] = "2.0" }, m.Field("accessKeyId"), m.Field("accessKeySecret"), 1302},
		{"date format", func(h map[string]string) { h["date"] = "yesterday" }, m.Field("accessKeyId"), m.Field("accessKeySecret"), 1303},
		{"no date", func(h map[string]string) { h["date"] = "" }, m.Field("accessKeyId"), m.Field("accessKeySecret"), 1304},
		{"old date", func(h map[string]string) { h["date"] = time.Now().Add(-20 * time.Minute).UTC().Format(http.TimeFormat) }, m.Field("accessKeyId"), m.Field("accessKeySecret"), 1305},
		{"future date", func(h map[string]string) { h["date"] = time.Now().Add(20 * time.Minute).UTC().Format(http.TimeFormat) }, m.Field("accessKeyId"), m.Field("accessKeySecret"), 1305},
	} {
		if e := send(signed(t, g.url, "POST", "/api/v3/create-webhook", body, nil, tc.ak, tc.sk, tc.edit)); e.StatusCode != 401 || e.APICode != tc.code {
			t.Errorf("%s: %+v, want apiCode %d", tc.name, e, tc.code)
		}
	}
	// A body changed after signing fails.
	tampered := signed(t, g.url, "POST", "/api/v3/create-webhook", body, nil, m.Field("accessKeyId"), m.Field("accessKeySecret"), nil)
	tampered2 := servertest.Request(t, "POST", g.url+"/api/v3/create-webhook", strings.Replace(body, "example.com", "evil.com", 1))
	tampered2.Header = tampered.Header
	if e := send(tampered2); e.StatusCode != 401 || e.APICode != 1300 {
		t.Errorf("tampered body: %+v", e)
	}
	// Revoked keys stop signing.
	_ = g.db.DeleteCredential(req.Context(), m.Field("accessKeyId"))
	if e := send(signed(t, g.url, "GET", "/api/v3/list-webhooks", "", nil, m.Field("accessKeyId"), m.Field("accessKeySecret"), nil)); e.StatusCode != 401 {
		t.Errorf("revoked key: %+v", e)
	}
}
