package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestEveryDialectReceivesItsFormat registers a webhook through each dialect's own API,
// publishes on the native API, and checks that each receiver gets the event in its
// vendor's format, signed: Standard Webhooks verified with the reference library, and
// Nursa-Signature verified by code of its own.
func TestEveryDialectReceivesItsFormat(t *testing.T) {
	type hit struct {
		header http.Header
		body   []byte
	}
	var mu sync.Mutex
	hits := map[string][]hit{}
	rcv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits[r.URL.Path] = append(hits[r.URL.Path], hit{r.Header.Clone(), b})
		mu.Unlock()
	}))
	defer rcv.Close()

	// The receiver is HTTPS (Nursa accepts nothing else); the gateway trusts its certificate.
	caFile := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rcv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs syncBuffer
	go func() {
		done <- run(ctx, []string{"--addr", addr, "--db", t.TempDir() + "/e2e.db", "--admin-token", "e2e-admin-token-for-tests-0123456789", "--allow-private-targets", "--ca-file", caFile}, &logs, &logs)
	}()
	defer func() { cancel(); <-done }()
	base := "http://" + addr
	call := func(method, path, body string, headers ...string) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if strings.HasPrefix(body, "{") {
			req.Header.Set("Content-Type", "application/json")
		} else if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/v1/event-types"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("gateway did not start: %s", logs.String())
		}
	}
	mint := func(body string) map[string]any {
		var m map[string]any
		_ = json.Unmarshal(call("POST", "/v1/credentials", body, "Authorization", "Bearer e2e-admin-token-for-tests-0123456789"), &m)
		return m
	}
	const project = "a1b2c3d4-0000-4000-8000-00000000000a"

	fa := mint(`{"dialect":"fusionauth"}`)
	call("POST", "/api/webhook", `{"webhook":{"url":"`+rcv.URL+`/fusionauth","connectTimeout":1000,"readTimeout":2000,"global":true,"eventsEnabled":{"user.create":true}}}`, "Authorization", fa["apiKey"].(string))

	xs := mint(`{"dialect":"xsolla","projectIds":["` + project + `"]}`)
	var xtok map[string]any
	_ = json.Unmarshal(call("POST", "/api/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {xs["clientId"].(string)}, "client_secret": {xs["clientSecret"].(string)}}.Encode()), &xtok)
	call("POST", "/api/projects/"+project+"/events/registration/webhooks", `{"url":"`+rcv.URL+`/xsolla"}`, "X-SERVER-AUTHORIZATION", xtok["access_token"].(string))

	nu := mint(`{"dialect":"nursa"}`)
	var ntok map[string]any
	_ = json.Unmarshal(call("POST", "/oidc/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {nu["clientId"].(string)}, "client_secret": {nu["clientSecret"].(string)}}.Encode()), &ntok)
	var nhook struct{ Data struct{ Secrets []string } }
	_ = json.Unmarshal(call("POST", "/api/v2/public/webhooks/user", `{"url":"`+rcv.URL+`/nursa","events":["all"],"secrets":["nursa-secret-1","nursa-secret-2"]}`, "Authorization", "Bearer "+ntok["access_token"].(string)), &nhook)

	au := mint(`{"dialect":"authing"}`)
	var atok struct {
		Data struct {
			AccessToken string `json:"access_token"`
		}
	}
	_ = json.Unmarshal(call("POST", "/api/v3/get-management-token", `{"accessKeyId":"`+au["accessKeyId"].(string)+`","accessKeySecret":"`+au["accessKeySecret"].(string)+`"}`), &atok)
	call("POST", "/api/v3/create-webhook", `{"name":"e2e","url":"`+rcv.URL+`/authing","events":["user:created"],"contentType":"application/json","secret":"au-secret"}`,
		"Authorization", "Bearer "+atok.Data.AccessToken, "X-Authing-Userpool-Id", au["userPoolId"].(string))

	// Publish: one event per tenant.
	data := `{"user":{"id":"u1","email":"ada@example.com"}}`
	for _, ev := range []string{
		`{"id":"e2e-xs","type":"user.created","tenant":"` + project + `","data":` + data + `}`,
		`{"id":"e2e-au","type":"user.created","tenant":"` + au["userPoolId"].(string) + `","data":` + data + `}`,
		`{"id":"e2e-nu","type":"group.member.added","tenant":"` + nu["clientId"].(string) + `","data":{"facilityId":"NUR-1","userId":"u1"}}`,
	} {
		call("POST", "/v1/events", ev, "Authorization", "Bearer e2e-admin-token-for-tests-0123456789")
	}

	wait := func(path string, n int) []hit {
		t.Helper()
		for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			h := append([]hit(nil), hits[path]...)
			mu.Unlock()
			if len(h) >= n {
				return h
			}
		}
		t.Fatalf("%s got nothing; logs:\n%s", path, logs.String())
		return nil
	}
	verifyStandard := func(h hit, webhookDialect string) {
		t.Helper()
		var list struct {
			Webhooks []struct{ ID, Dialect string }
		}
		_ = json.Unmarshal(call("GET", "/v1/webhooks?dialect="+webhookDialect, "", "Authorization", "Bearer e2e-admin-token-for-tests-0123456789"), &list)
		var secrets struct{ Secrets []struct{ Secret string } }
		_ = json.Unmarshal(call("GET", "/v1/webhooks/"+list.Webhooks[0].ID+"/secrets", "", "Authorization", "Bearer e2e-admin-token-for-tests-0123456789"), &secrets)
		wh, err := standardwebhooks.NewWebhook(secrets.Secrets[0].Secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(h.body, h.header); err != nil {
			t.Errorf("%s: Standard Webhooks signature: %v", webhookDialect, err)
		}
	}

	// FusionAuth gets both user.created events (it is global).
	for _, h := range wait("/fusionauth", 2) {
		var b struct{ Event map[string]any }
		if json.Unmarshal(h.body, &b) != nil || b.Event["type"] != "user.create" || b.Event["user"] == nil {
			t.Errorf("fusionauth body: %s", h.body)
		}
		verifyStandard(h, "fusionauth")
	}
	h := wait("/xsolla", 1)[0]
	var xb map[string]any
	if json.Unmarshal(h.body, &xb) != nil || xb["event_type"] != "registration" || xb["project_id"] != project || xb["data"] == nil || xb["event_time"] == nil {
		t.Errorf("xsolla body: %s", h.body)
	}
	verifyStandard(h, "xsolla")
	h = wait("/authing", 1)[0]
	if string(h.body) != `{"eventName":"user:created","data":`+data+`}` || h.header.Get("X-Authing-Webhook-Secret") != "au-secret" || h.header.Get("User-Agent") != "authing-webhook@2.0" {
		t.Errorf("authing: %s %v", h.body, h.header)
	}
	verifyStandard(h, "authing")

	// Nursa: {data, eventType}, with Nursa-Signature verified here: one v1 per secret.
	h = wait("/nursa", 1)[0]
	if string(h.body) != `{"data":{"facilityId":"NUR-1","userId":"u1"},"eventType":"facility.user-connection.accepted"}` {
		t.Errorf("nursa body: %s", h.body)
	}
	var ts string
	var v1 []string
	for _, part := range strings.Split(h.header.Get("Nursa-Signature"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = append(v1, v)
		}
	}
	if len(v1) != len(nhook.Data.Secrets) || len(v1) != 2 {
		t.Errorf("Nursa-Signature %q: want one v1 per secret", h.header.Get("Nursa-Signature"))
	}
	for i, s := range nhook.Data.Secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(ts + "." + string(h.body)))
		if i < len(v1) && !hmac.Equal([]byte(v1[i]), []byte(hex.EncodeToString(m.Sum(nil)))) {
			t.Errorf("Nursa-Signature v1 #%d does not verify with secret %d", i+1, i+1)
		}
	}
	verifyStandard(h, "nursa")

	// Each vendor's log API shows its deliveries (Authing's is tested in its package).
	var faLogs struct {
		Total            int
		WebhookEventLogs []struct{ EventResult, EventType string }
	}
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(50 * time.Millisecond) {
		_ = json.Unmarshal(call("GET", "/api/system/webhook-event-log/search?eventResult=Succeeded", "", "Authorization", fa["apiKey"].(string)), &faLogs)
		if faLogs.Total == 2 {
			break
		}
	}
	if faLogs.Total != 2 || faLogs.WebhookEventLogs[0].EventType != "user.create" {
		t.Errorf("FusionAuth event log: %+v", faLogs)
	}
	var nuLogs struct {
		Data []struct {
			Status, EventType, FacilityID string
		}
	}
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(50 * time.Millisecond) {
		_ = json.Unmarshal(call("GET", "/api/v2/public/webhooks/logs", "", "Authorization", "Bearer "+ntok["access_token"].(string)), &nuLogs)
		if len(nuLogs.Data) == 1 {
			break
		}
	}
	if len(nuLogs.Data) != 1 || nuLogs.Data[0].Status != "success" || nuLogs.Data[0].FacilityID != "NUR-1" {
		t.Errorf("Nursa logs: %+v", nuLogs)
	}

	// The metrics saw it all (attempts are counted once recorded, just after the receiver
	// answered, so give them a moment). Counters are per process and tests may run again
	// in the same one, so they must have grown by at least this much.
	wants := map[string]float64{
		`polyhook_delivery_attempts_total{dialect="fusionauth",outcome="success"}`:    2,
		`polyhook_delivery_attempts_total{dialect="nursa",outcome="success"}`:         1,
		`polyhook_events_published_total`:                                             3,
		`polyhook_http_requests_total{method="POST",route="/v1/events",status="201"}`: 3,
		`polyhook_delivery_attempt_duration_seconds_count{dialect="authing"}`:         1,
	}
	var missing []string
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := map[string]float64{}
		for _, line := range strings.Split(string(metrics), "\n") {
			if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
				got[line[:i]], _ = strconv.ParseFloat(line[i+1:], 64)
			}
		}
		missing = nil
		for series, min := range wants {
			if got[series] < min {
				missing = append(missing, series)
			}
		}
		if v, ok := got["polyhook_deliveries_pending"]; !ok || v != 0 {
			missing = append(missing, "polyhook_deliveries_pending 0")
		}
		if len(missing) == 0 {
			break
		}
	}
	if len(missing) > 0 {
		t.Errorf("/metrics lacks %v", missing)
	}
}
