package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// verifyCmd checks a received delivery's signatures, as the endpoint should: the Standard
// Webhooks signature every delivery carries, and the dialect's own (Nursa-Signature,
// X-Authing-Webhook-Secret, X-FusionAuth-Signature-JWT) when present. It works offline
// with the secrets given; --webhook fetches the webhook's whsec_ secrets from the gateway.
type verifyCmd struct {
	Secret      []string `name:"secret" help:"A secret the delivery may be signed with: a whsec_ secret (Standard Webhooks) or the dialect's own (Nursa, Authing). Repeat for several."`
	Webhook     string   `name:"webhook" help:"Polyhook's webhook id: fetch its whsec_ secrets from the gateway (--url, --token)."`
	Key         string   `name:"key" help:"FusionAuth: the signing key's public key (a PEM file), or an HMAC key's secret (base64)."`
	Header      []string `name:"header" short:"H" help:"A header of the delivery, as \"Name: value\" (repeat for several)."`
	HeadersFile string   `name:"headers" type:"existingfile" help:"A file of the delivery's headers, one \"Name: value\" a line (curl -D writes one)."`
	Body        string   `name:"body" required:"" help:"A file holding the delivery's body exactly as received, or - for standard input."`
	Tolerance   duration `name:"tolerance" default:"0s" help:"Refuse a Standard Webhooks or Nursa timestamp older or newer than this (as in 5m); 0 does not check the age."`
}

// check is one scheme's verdict.
type check struct {
	Scheme string `json:"scheme"`
	Valid  bool   `json:"valid"`
	Why    string `json:"why"`
}

func (c *verifyCmd) Run(g *globals) error {
	h, err := c.headers()
	if err != nil {
		return err
	}
	body, err := readBody(c.Body)
	if err != nil {
		return err
	}
	secrets := c.Secret
	if c.Webhook != "" {
		a, err := g.api()
		if err != nil {
			return err
		}
		var out struct{ Secrets []struct{ Secret string } }
		if _, err := a.get(g.ctx, "/v1/webhooks/"+url.PathEscape(c.Webhook)+"/secrets", nil, &out); err != nil {
			return err
		}
		for _, s := range out.Secrets {
			secrets = append(secrets, s.Secret)
		}
	}
	if len(secrets) == 0 && c.Key == "" {
		return usageError{errors.New("nothing to verify with: give --secret, --webhook or --key")}
	}
	var whsec, own []string
	for _, s := range secrets {
		if strings.HasPrefix(s, "whsec_") {
			whsec = append(whsec, s)
		} else {
			own = append(own, s)
		}
	}
	now := time.Now()
	var checks []check
	if h.Get("webhook-signature") != "" || len(whsec) > 0 {
		checks = append(checks, verifyStandard(h, body, whsec, now, time.Duration(c.Tolerance)))
	}
	if h.Get("Nursa-Signature") != "" {
		checks = append(checks, verifyNursa(h.Get("Nursa-Signature"), body, own, now, time.Duration(c.Tolerance)))
	}
	if v := h.Get("X-Authing-Webhook-Secret"); v != "" {
		checks = append(checks, verifyAuthing(v, own))
	}
	if v := h.Get("X-FusionAuth-Signature-JWT"); v != "" {
		checks = append(checks, verifyFusionAuth(v, body, c.Key))
	}
	valid := len(checks) > 0
	for _, ch := range checks {
		valid = valid && ch.Valid
	}
	if g.json() {
		if err := json.NewEncoder(g.stdout).Encode(map[string]any{"valid": valid, "checks": checks}); err != nil {
			return err
		}
	} else {
		for _, ch := range checks {
			verdict := "valid"
			if !ch.Valid {
				verdict = "NOT valid"
			}
			fmt.Fprintf(g.stdout, "%s: %s: %s\n", ch.Scheme, verdict, ch.Why)
		}
	}
	switch {
	case len(checks) == 0:
		return errors.New("no signature header found (webhook-signature, Nursa-Signature, X-Authing-Webhook-Secret or X-FusionAuth-Signature-JWT); pass the delivery's headers with -H or --headers")
	case !valid:
		return errors.New("the delivery's signature is not valid")
	}
	return nil
}

// headers reads -H and --headers.
func (c *verifyCmd) headers() (http.Header, error) {
	h := http.Header{}
	lines := append([]string{}, c.Header...)
	if c.HeadersFile != "" {
		f, err := os.Open(c.HeadersFile)
		if err != nil {
			return nil, usageError{fmt.Errorf("--headers %s: %w", c.HeadersFile, unwrapPath(err))}
		}
		defer f.Close()
		sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
	}
	for _, l := range lines {
		name, value, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok || strings.HasPrefix(name, "HTTP/") || strings.ContainsAny(name, " \t") {
			continue // a status line, a blank one
		}
		h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return h, nil
}

func readBody(path string) ([]byte, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usageError{fmt.Errorf("--body %s: %w", path, unwrapPath(err))}
		}
		defer f.Close()
		r = f
	}
	return io.ReadAll(io.LimitReader(r, 64<<20))
}

// verifyStandard checks webhook-signature: "v1,<base64 HMAC-SHA256>" entries over
// "<webhook-id>.<webhook-timestamp>.<body>", keyed with a whsec_ secret's decoded bytes.
func verifyStandard(h http.Header, body []byte, secrets []string, now time.Time, tolerance time.Duration) check {
	c := check{Scheme: "Standard Webhooks"}
	id, ts, sig := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	switch {
	case sig == "" || id == "" || ts == "":
		c.Why = "the webhook-id, webhook-timestamp and webhook-signature headers are not all there"
		return c
	case len(secrets) == 0:
		c.Why = "no whsec_ secret given (--secret whsec_... or --webhook)"
		return c
	}
	if why := checkAge(ts, now, tolerance); why != "" {
		c.Why = why
		return c
	}
	for i, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			c.Why = fmt.Sprintf("secret %d is not a whsec_ secret (base64 after whsec_)", i+1)
			return c
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(body)
		want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		for _, got := range strings.Fields(sig) {
			if hmac.Equal([]byte(got), []byte(want)) {
				c.Valid, c.Why = true, fmt.Sprintf("signed with secret %d of %d", i+1, len(secrets))
				return c
			}
		}
	}
	c.Why = fmt.Sprintf("no signature matches the body with the %s given: the body was changed (reformatted JSON counts), or it is another webhook's secret", count(len(secrets), "secret", "secrets"))
	return c
}

// verifyNursa checks Nursa-Signature: "t=<unix>, v1=<hex HMAC-SHA256>" entries over
// "<t>.<body>", keyed with the webhook's Nursa secret.
func verifyNursa(header string, body []byte, secrets []string, now time.Time, tolerance time.Duration) check {
	c := check{Scheme: "Nursa-Signature"}
	var ts string
	var sigs []string
	for _, p := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	switch {
	case ts == "" || len(sigs) == 0:
		c.Why = "the header has no t= or no v1= part"
		return c
	case len(secrets) == 0:
		c.Why = "no Nursa secret given (--secret: one of the webhook's secrets)"
		return c
	}
	if why := checkAge(ts, now, tolerance); why != "" {
		c.Why = why
		return c
	}
	for i, s := range secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(ts + "."))
		m.Write(body)
		want := hex.EncodeToString(m.Sum(nil))
		for _, got := range sigs {
			if hmac.Equal([]byte(got), []byte(want)) {
				c.Valid, c.Why = true, fmt.Sprintf("signed with secret %d of %d", i+1, len(secrets))
				return c
			}
		}
	}
	c.Why = fmt.Sprintf("no v1= signature matches the body with the %s given", count(len(secrets), "secret", "secrets"))
	return c
}

// verifyAuthing checks X-Authing-Webhook-Secret, which carries the webhook's secret itself.
func verifyAuthing(header string, secrets []string) check {
	c := check{Scheme: "X-Authing-Webhook-Secret"}
	if len(secrets) == 0 {
		c.Why = "no Authing secret given (--secret: the webhook's secret)"
		return c
	}
	for _, s := range secrets {
		if subtle.ConstantTimeCompare([]byte(header), []byte(s)) == 1 {
			c.Valid, c.Why = true, "the header is the webhook's secret"
			return c
		}
	}
	c.Why = "the header is none of the secrets given"
	return c
}

// verifyFusionAuth checks X-FusionAuth-Signature-JWT: a JWT signed with the webhook's
// signing key whose request_body_sha256 claim is the base64 SHA-256 of the body.
func verifyFusionAuth(token string, body []byte, key string) check {
	c := check{Scheme: "X-FusionAuth-Signature-JWT"}
	if key == "" {
		c.Why = "no key given (--key: the signing key's public key PEM file, or an HMAC key's secret)"
		return c
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); ok {
			return base64.StdEncoding.DecodeString(key)
		}
		pemBytes, err := os.ReadFile(key)
		if err != nil {
			return nil, fmt.Errorf("the token is signed with %s, which needs the public key's PEM file as --key", t.Method.Alg())
		}
		block, _ := pem.Decode(pemBytes)
		if block == nil {
			return nil, errors.New("--key is not a PEM file")
		}
		return x509.ParsePKIXPublicKey(block.Bytes)
	}, jwt.WithoutClaimsValidation())
	if err != nil {
		c.Why = "the JWT does not verify with the key: " + err.Error()
		return c
	}
	sum := sha256.Sum256(body)
	if claims["request_body_sha256"] != base64.StdEncoding.EncodeToString(sum[:]) {
		c.Why = "the JWT verifies, but its request_body_sha256 is not the body's: the body was changed"
		return c
	}
	c.Valid, c.Why = true, "the JWT verifies and names the body's SHA-256"
	return c
}

// checkAge says why a unix timestamp is outside the tolerance, "" when it is not (or
// the tolerance is 0).
func checkAge(ts string, now time.Time, tolerance time.Duration) string {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Sprintf("the timestamp %q is not a unix time", ts)
	}
	age := now.Sub(time.Unix(n, 0))
	if tolerance > 0 && (age > tolerance || -age > tolerance) {
		return fmt.Sprintf("the timestamp is %s from now, beyond --tolerance %s: a replay, or an old capture", age.Round(time.Second), tolerance)
	}
	return ""
}
