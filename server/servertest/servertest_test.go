package servertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

const spec = `
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /thing:
    get:
      operationId: getThing
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, required: [a], properties: {a: {type: integer}}}
        "404": {description: empty}
`

// The checker must catch what a contract test exists to catch.
func TestContractCatchesViolations(t *testing.T) {
	var status int
	var body, contentType string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	defer ts.Close()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	c := NewContract(t, doc, ts.URL)
	check := func(s int, ct, b string) error {
		status, contentType, body = s, ct, b
		req, _ := http.NewRequest("GET", ts.URL+"/thing", nil)
		resp, err := c.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return c.validate(req, resp, []byte(b))
	}
	if err := check(200, "application/json", `{"a":1}`); err != nil {
		t.Errorf("valid response rejected: %v", err)
	}
	if err := check(404, "", ``); err != nil {
		t.Errorf("valid empty 404 rejected: %v", err)
	}
	for _, bad := range []struct {
		status   int
		ct, body string
	}{
		{200, "application/json", `{"a":"x"}`},
		{200, "application/json", `{}`},
		{200, "text/plain", `{"a":1}`},
		{500, "", ``},
		{404, "application/json", `{}`},
		{404, "", `not empty`},
	} {
		if err := check(bad.status, bad.ct, bad.body); err == nil {
			t.Errorf("%d %s %q accepted, want a violation", bad.status, bad.ct, bad.body)
		}
	}
	if m := c.Missing(); len(m) != 0 {
		t.Errorf("missing %v after every status was seen", m)
	}
	c2 := NewContract(t, doc, ts.URL)
	if m := strings.Join(c2.Missing(), ","); m != "getThing 200,getThing 404" {
		t.Errorf("fresh contract missing = %q", m)
	}
}
