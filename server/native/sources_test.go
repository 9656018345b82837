package native_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server/servertest"
)

// sources exercises the sources API and the ingest route through the contract: every
// status they declare, in the native envelope.
func sources(t *testing.T, c *servertest.Contract, url string) {
	t.Helper()
	admin := []string{"Authorization", "Bearer " + token}
	do := func(method, path, body string, headers ...string) (int, []byte) {
		t.Helper()
		resp, b := c.Do(t, servertest.Request(t, method, url+path, body, headers...))
		return resp.StatusCode, b
	}
	for _, bad := range []string{`{"dialect":"standard"}`, `{"dialect":"fusionauth","secret":""}`, `{"dialect":"nursa","publicKeys":"x"}`, `{"dialect":"fusionauth","publicKeys":"not a key"}`, `[`} {
		if status, b := do("POST", "/v1/sources", bad, admin...); status != 400 {
			t.Errorf("create %s: %d %s", bad, status, b)
		}
	}
	if status, _ := do("POST", "/v1/sources", `{"dialect":"fusionauth"}`); status != 401 {
		t.Errorf("create without the token: %d", status)
	}
	status, b := do("POST", "/v1/sources", `{"dialect":"fusionauth","name":"fa","secret":"first-secret"}`, admin...)
	var src api.NewSource
	if status != 201 || json.Unmarshal(b, &src) != nil || src.Secret != "first-secret" || src.Url != "/ingest/"+src.Id {
		t.Fatalf("create: %d %s", status, b)
	}
	status, b = do("POST", "/v1/sources", `{"dialect":"nursa"}`, admin...)
	var generated api.NewSource
	if status != 201 || json.Unmarshal(b, &generated) != nil || len(generated.Secret) < 32 {
		t.Errorf("a generated secret: %d %s", status, b)
	}
	if status, b = do("GET", "/v1/sources", "", admin...); status != 200 || strings.Contains(string(b), "first-secret") || !strings.Contains(string(b), src.Id) {
		t.Errorf("list: %d %s", status, b)
	}
	if status, b = do("GET", "/v1/sources/"+src.Id, "", admin...); status != 200 || strings.Contains(string(b), "first-secret") {
		t.Errorf("get: %d %s", status, b)
	}

	// A rotation: both secrets pass until the previous one is dropped.
	if status, b = do("PATCH", "/v1/sources/"+src.Id, `{"secret":"second-secret","tenant":"`+strings.Repeat("t", 129)+`"}`, admin...); status != 400 {
		t.Errorf("patch with a long tenant: %d %s", status, b)
	}
	if status, b = do("PATCH", "/v1/sources/"+src.Id, `{"secret":"second-secret"}`, admin...); status != 200 || !strings.Contains(string(b), `"rotating":true`) {
		t.Errorf("rotate: %d %s", status, b)
	}
	var secret api.SourceSecret
	if status, b = do("GET", "/v1/sources/"+src.Id+"/secret", "", admin...); status != 200 || json.Unmarshal(b, &secret) != nil ||
		secret.Secret != "second-secret" || secret.PreviousSecret == nil || *secret.PreviousSecret != "first-secret" {
		t.Errorf("secret: %d %s", status, b)
	}
	body := `{"event":{"type":"user.create","id":"3f0c8d7e-0000-4000-8000-000000000001","user":{"id":"u1"}}}`
	ingest := func(password string) (int, []byte) {
		req := servertest.Request(t, "POST", url+"/ingest/"+src.Id, body, "Content-Type", "application/json")
		req.SetBasicAuth("fusionauth", password)
		resp, b := c.Do(t, req)
		return resp.StatusCode, b
	}
	for _, p := range []string{"first-secret", "second-secret"} {
		if status, b = ingest(p); status != 200 {
			t.Errorf("ingest with %s: %d %s", p, status, b)
		}
	}
	if status, b = do("PATCH", "/v1/sources/"+src.Id, `{"previousSecret":""}`, admin...); status != 200 || strings.Contains(string(b), "rotating") {
		t.Errorf("end the rotation: %d %s", status, b)
	}
	if status, b = ingest("first-secret"); status != 401 {
		t.Errorf("ingest with the dropped secret: %d %s", status, b)
	}
	req := servertest.Request(t, "POST", url+"/ingest/"+src.Id, `{"nope":1}`, "Content-Type", "application/json")
	req.SetBasicAuth("x", "second-secret")
	if resp, b := c.Do(t, req); resp.StatusCode != 400 {
		t.Errorf("ingest a malformed body: %d %s", resp.StatusCode, b)
	}
	if status, b = do("POST", "/ingest/src_nope", body, "Content-Type", "application/json"); status != 404 {
		t.Errorf("ingest to no source: %d %s", status, b)
	}

	for _, p := range []string{"/v1/sources/nope", "/v1/sources/nope/secret"} {
		if status, _ = do("GET", p, "", admin...); status != 404 {
			t.Errorf("GET %s: %d", p, status)
		}
		if status, _ = do("GET", p, "", "Authorization", "Bearer no"); status != 401 {
			t.Errorf("GET %s without the token: %d", p, status)
		}
	}
	if status, _ = do("GET", "/v1/sources", "", "Authorization", "Bearer no"); status != 401 {
		t.Errorf("list without the token: %d", status)
	}
	for _, m := range []string{"PATCH", "DELETE"} {
		if status, _ = do(m, "/v1/sources/nope", `{}`, admin...); status != 404 {
			t.Errorf("%s an unknown source: %d", m, status)
		}
		if status, _ = do(m, "/v1/sources/"+src.Id, `{}`, "Authorization", "Bearer no"); status != 401 {
			t.Errorf("%s without the token: %d", m, status)
		}
	}
	if status, _ = do("DELETE", "/v1/sources/"+src.Id, "", admin...); status != http.StatusNoContent {
		t.Errorf("delete: %d", status)
	}
	if status, _ = ingest("second-secret"); status != 404 {
		t.Errorf("ingest to a deleted source: %d", status)
	}
}
