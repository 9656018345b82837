package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestImportEveryDialect imports the webhooks of a second gateway serving each vendor's
// dialect (its API is the vendor's) into a gateway: a dry run changes nothing and says
// what it would create; --apply creates them (FusionAuth's under the vendor's ids); a
// second --apply changes nothing; a changed vendor webhook is updated.
func TestImportEveryDialect(t *testing.T) {
	for _, dialect := range []string{"fusionauth", "xsolla", "nursa", "authing"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			vendor := startBridgeGateway(t, t.TempDir()+"/vendor.db")
			gw := startBridgeGateway(t, t.TempDir()+"/gateway.db")
			args, made := vendorWebhooks(t, vendor, dialect)

			runImport := func(extra ...string) string {
				t.Helper()
				var out bytes.Buffer
				all := append([]string{"import", dialect, "--from", vendor.base, "--url=" + gw.base, "--token=" + gw.token}, args...)
				if err := run(context.Background(), append(all, extra...), &out, &out); err != nil {
					t.Fatalf("import %v: %v\n%s", extra, err, out.String())
				}
				return out.String()
			}
			gatewayHooks := func() []gatewayHook {
				var out struct{ Webhooks []gatewayHook }
				gw.admin(t, "GET", "/v1/webhooks?dialect="+dialect, "", &out)
				return out.Webhooks
			}

			out := runImport()
			if len(regexp.MustCompile(`(?m)^create `).FindAllString(out, -1)) != len(made) || !strings.Contains(out, "--apply") {
				t.Errorf("dry run:\n%s", out)
			}
			if n := len(gatewayHooks()); n != 0 {
				t.Fatalf("the dry run made %d webhooks", n)
			}
			out = runImport("--apply")
			t.Logf("--apply:\n%s", out)
			hooks := gatewayHooks()
			if len(hooks) != len(made) {
				t.Fatalf("after --apply the gateway has %d webhooks, want %d:\n%s", len(hooks), len(made), out)
			}
			for _, m := range made {
				found := false
				for _, h := range hooks {
					if h.URL == m.url && sameSet(h.Events, m.events) && (dialect != "fusionauth" || h.ExternalID == m.id) {
						found = true
					}
				}
				if !found {
					t.Errorf("%+v was not imported as it is: %+v", m, hooks)
				}
			}
			out = runImport("--apply")
			if !strings.Contains(out, "Nothing to change.") || strings.Contains(out, "Minted") {
				t.Errorf("a second --apply:\n%s", out)
			}
			if n := len(gatewayHooks()); n != len(made) {
				t.Errorf("a second --apply left %d webhooks, want %d", n, len(made))
			}
			if dialect == "fusionauth" {
				// A webhook changed at the vendor is updated under its id.
				status, b := vendor.do(t, "PATCH", "/api/webhook/"+made[0].id, `{"webhook":{"description":"changed"}}`, "Authorization", strings.TrimPrefix(args[0], "--api-key="))
				if status != 200 {
					t.Fatalf("patch at the vendor: %d %s", status, b)
				}
				out = runImport()
				if !regexp.MustCompile(`(?m)^update `).MatchString(out) || !strings.Contains(out, "description differ") {
					t.Errorf("dry run after a change:\n%s", out)
				}
				var key struct{ APIKey string }
				gw.admin(t, "POST", "/v1/credentials", `{"dialect":"fusionauth"}`, &key)
				runImport("--apply", "--gateway-key="+key.APIKey)
				for _, h := range gatewayHooks() {
					if h.ExternalID == made[0].id && h.Description != "changed" {
						t.Errorf("not updated: %+v", h)
					}
				}
				if out = runImport(); regexp.MustCompile(`(?m)^update `).MatchString(out) {
					t.Errorf("still differs after the update:\n%s", out)
				}
			}
		})
	}
}

// madeHook is a webhook made at the vendor.
type madeHook struct {
	id, url string
	events  []string
}

// vendorWebhooks makes two webhooks at the vendor through its own API and returns the
// import's flags for the vendor's credentials.
func vendorWebhooks(t *testing.T, v *bridgeGateway, dialect string) ([]string, []madeHook) {
	t.Helper()
	post := func(path, body string, headers ...string) []byte {
		t.Helper()
		status, b := v.do(t, "POST", path, body, headers...)
		if status >= 300 {
			t.Fatalf("POST %s: %d %s", path, status, b)
		}
		return b
	}
	form := func(path string, vals url.Values) []byte {
		t.Helper()
		req, _ := http.NewRequest("POST", v.base+path, strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return b.Bytes()
	}
	switch dialect {
	case "fusionauth":
		var key struct{ APIKey string }
		v.admin(t, "POST", "/v1/credentials", `{"dialect":"fusionauth"}`, &key)
		var made []madeHook
		for i, ev := range []string{"user.create", "user.delete"} {
			id := []string{"0b9c2d3e-0000-4000-8000-000000000001", "0b9c2d3e-0000-4000-8000-000000000002"}[i]
			u := "https://hooks.example.com/fa/" + ev
			post("/api/webhook/"+id, `{"webhook":{"url":"`+u+`","connectTimeout":1000,"readTimeout":2000,"global":true,"description":"d","eventsEnabled":{"`+ev+`":true},"httpAuthenticationUsername":"u","httpAuthenticationPassword":"p"}}`, "Authorization", key.APIKey)
			made = append(made, madeHook{id, u, []string{ev}})
		}
		return []string{"--api-key=" + key.APIKey}, made
	case "xsolla":
		var cr struct{ ClientID, ClientSecret string }
		v.admin(t, "POST", "/v1/credentials", `{"dialect":"xsolla","projectIds":["`+bridgeProject+`"]}`, &cr)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(form("/api/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.ClientID}, "client_secret": {cr.ClientSecret}}), &tok)
		var made []madeHook
		for _, ev := range []string{"registration", "authorization"} {
			u := "https://hooks.example.com/xs/" + ev
			post("/api/projects/"+bridgeProject+"/events/"+ev+"/webhooks", `{"url":"`+u+`"}`, "X-SERVER-AUTHORIZATION", tok.AccessToken)
			made = append(made, madeHook{"", u, []string{ev}})
		}
		return []string{"--server-jwt=" + tok.AccessToken, "--project", bridgeProject}, made
	case "nursa":
		var cr struct{ ClientID, ClientSecret string }
		v.admin(t, "POST", "/v1/credentials", `{"dialect":"nursa"}`, &cr)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(form("/oidc/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.ClientID}, "client_secret": {cr.ClientSecret}}), &tok)
		var made []madeHook
		for _, ev := range []string{"facility.creation.accepted", "all"} {
			u := "https://hooks.example.com/nu/" + ev
			post("/api/v2/public/webhooks/user", `{"url":"`+u+`","events":["`+ev+`"]}`, "Authorization", "Bearer "+tok.AccessToken)
			made = append(made, madeHook{"", u, []string{ev}})
		}
		return []string{"--access-token=" + tok.AccessToken}, made
	case "authing":
		var cr struct{ UserPoolID, AccessKeyID, AccessKeySecret string }
		v.admin(t, "POST", "/v1/credentials", `{"dialect":"authing"}`, &cr)
		var tok struct {
			Data struct {
				AccessToken string `json:"access_token"`
			}
		}
		_ = json.Unmarshal(post("/api/v3/get-management-token", `{"accessKeyId":"`+cr.AccessKeyID+`","accessKeySecret":"`+cr.AccessKeySecret+`"}`), &tok)
		var made []madeHook
		for _, ev := range []string{"user:created", "login"} {
			u := "https://hooks.example.com/au/" + ev
			post("/api/v3/create-webhook", `{"name":"n","url":"`+u+`","events":["`+ev+`"],"contentType":"application/json","secret":"s3cret"}`,
				"Authorization", "Bearer "+tok.Data.AccessToken, "X-Authing-Userpool-Id", cr.UserPoolID)
			made = append(made, madeHook{"", u, []string{ev}})
		}
		return []string{"--access-token=" + tok.Data.AccessToken, "--user-pool-id", cr.UserPoolID}, made
	}
	t.Fatalf("unknown dialect %s", dialect)
	return nil, nil
}
