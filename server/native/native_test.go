package native_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/native"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

const token = "test-admin-token"

func TestContract(t *testing.T) {
	db := storetest.Open(t)
	keys, _ := server.NewKeys("native-test-master-key")
	log := servertest.Logger(t)
	deps := server.Deps{DB: db, Keys: keys, Log: log}
	srv := server.New(log)
	srv.Register(fusionauth.New(deps), native.New(db, srv, store.HashSecret(token), log))
	url := servertest.Serve(t, srv)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	c := servertest.NewContract(t, spec, url)
	do := func(method, path, body string, auth ...string) (int, []byte) {
		t.Helper()
		if auth == nil {
			auth = []string{"Authorization", "Bearer " + token}
		}
		resp, b := c.Do(t, servertest.Request(t, method, url+path, body, auth...))
		return resp.StatusCode, b
	}
	errCode := func(b []byte) string {
		var e api.Error
		_ = json.Unmarshal(b, &e)
		return string(e.Error.Code)
	}

	// Mint a FusionAuth key and use it against the FusionAuth API.
	status, b := do("POST", "/v1/credentials", `{"dialect":"fusionauth","name":"ci"}`)
	var minted api.NewCredential
	if err := json.Unmarshal(b, &minted); status != 201 || err != nil || minted.ApiKey == nil || *minted.Name != "ci" {
		t.Fatalf("mint: %d %s", status, b)
	}
	req := servertest.Request(t, "POST", url+"/api/webhook", `{"webhook":{"url":"https://example.com/n","connectTimeout":1,"readTimeout":1,"eventsEnabled":{"user.create":true},"global":true}}`, "Authorization", *minted.ApiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the minted key is refused: %v %v", resp, err)
	}
	resp.Body.Close()
	// The secret is stored hashed only.
	cred, err := db.CredentialBySecret(context.Background(), store.DialectFusionAuth, *minted.ApiKey)
	if err != nil || cred.SecretHash == *minted.ApiKey || cred.SecretSealed != "" {
		t.Errorf("stored credential: %+v %v", cred, err)
	}

	for _, bad := range []string{`{"dialect":"mailchimp"}`, `{"dialect":"fusionauth","projectIds":["7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80"]}`, `nope`} {
		if status, b = do("POST", "/v1/credentials", bad); status != 400 || errCode(b) != "invalid" {
			t.Errorf("mint %s: %d %s", bad, status, b)
		}
	}
	if status, b = do("POST", "/v1/credentials", `{"dialect":"fusionauth"}`, "Authorization", "Bearer wrong"); status != 401 || errCode(b) != "unauthorized" {
		t.Errorf("mint with a wrong token: %d %s", status, b)
	}

	// List credentials: no secrets.
	status, b = do("GET", "/v1/credentials?dialect=fusionauth", "")
	var list struct{ Credentials []map[string]any }
	if err := json.Unmarshal(b, &list); status != 200 || err != nil || len(list.Credentials) != 1 || list.Credentials[0]["apiKey"] != nil {
		t.Errorf("list credentials: %d %s", status, b)
	}
	if status, _ = do("GET", "/v1/credentials?dialect=nope", ""); status != 400 {
		t.Errorf("list credentials of an unknown dialect: %d", status)
	}
	if status, _ = do("GET", "/v1/credentials", "", "Authorization", token); status != 401 {
		t.Errorf("list credentials without Bearer: %d", status)
	}

	// Webhooks of every dialect in one shape.
	if err := db.CreateWebhook(context.Background(), &store.Webhook{Dialect: store.DialectNursa, Owner: "client-1", ExternalID: "n-1", URL: "https://nursa.example.com", Events: []string{"all"}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	status, b = do("GET", "/v1/webhooks", "")
	var hooks struct {
		Total    int
		Webhooks []api.Webhook
	}
	if err := json.Unmarshal(b, &hooks); status != 200 || err != nil || hooks.Total != 2 {
		t.Fatalf("list webhooks: %d %s", status, b)
	}
	byDialect := map[api.Dialect]api.Webhook{}
	for _, w := range hooks.Webhooks {
		byDialect[w.Dialect] = w
	}
	if fa := byDialect[api.Fusionauth]; !fa.Scope.Global || len(fa.Events) != 1 || fa.Events[0] != "user.create" {
		t.Errorf("fusionauth webhook: %+v", fa)
	}
	if nu := byDialect[api.Nursa]; nu.Scope.Owner == nil || *nu.Scope.Owner != "client-1" || nu.ExternalId != "n-1" {
		t.Errorf("nursa webhook: %+v", nu)
	}
	if status, b = do("GET", "/v1/webhooks?dialect=nursa&limit=1", ""); status != 200 || json.Unmarshal(b, &hooks) != nil || hooks.Total != 1 {
		t.Errorf("filter by dialect: %d %s", status, b)
	}
	for _, q := range []string{"limit=0", "limit=x", "offset=-1", "dialect=zapier"} {
		if status, _ = do("GET", "/v1/webhooks?"+q, ""); status != 400 {
			t.Errorf("list webhooks ?%s: %d", q, status)
		}
	}
	if status, _ = do("GET", "/v1/webhooks", "", "X-Other", "x"); status != 401 {
		t.Errorf("list webhooks without a token: %d", status)
	}

	// Revoke: the key stops working.
	if status, b = do("DELETE", "/v1/credentials/"+minted.Id, ""); status != 204 || len(b) != 0 {
		t.Errorf("revoke: %d %s", status, b)
	}
	if status, _ = do("DELETE", "/v1/credentials/"+minted.Id, ""); status != 404 {
		t.Errorf("revoke again: %d", status)
	}
	if status, _ = do("DELETE", "/v1/credentials/"+minted.Id, "", "Authorization", "Bearer x"); status != 401 {
		t.Errorf("revoke without the token: %d", status)
	}
	resp, err = http.DefaultClient.Do(servertest.Request(t, "GET", url+"/api/webhook", "", "Authorization", *minted.ApiKey))
	if err != nil || resp.StatusCode != 401 {
		t.Errorf("revoked key still works: %v %v", resp, err)
	}
	c.RequireAllExercised(t)
}

func TestAdminToken(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	hash, generated, err := native.AdminToken(ctx, db, "")
	if err != nil || generated == "" || hash != store.HashSecret(generated) {
		t.Fatalf("first start: %q %q %v", hash, generated, err)
	}
	again, shown, err := native.AdminToken(ctx, db, "")
	if err != nil || shown != "" || again != hash {
		t.Errorf("second start must reuse the stored token without showing it: %q %q %v", again, shown, err)
	}
	configured, shown, err := native.AdminToken(ctx, db, "mine")
	if err != nil || shown != "" || configured != store.HashSecret("mine") {
		t.Errorf("configured token: %q %q %v", configured, shown, err)
	}
}
