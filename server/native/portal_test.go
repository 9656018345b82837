package native_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/native"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/server/xsolla"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// portalBundle is a gateway with the native API, FusionAuth and Xsolla, and a contract
// checker for /v1.
type portalBundle struct {
	db  *store.DB
	url string
	c   *servertest.Contract
}

func newPortalBundle(t *testing.T, db *store.DB) *portalBundle {
	t.Helper()
	keys, _ := server.NewKeys("native-test-master-key")
	log := servertest.Logger(t)
	deps := server.Deps{DB: db, Keys: keys, Log: log}
	engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log, Sender: delivery.SenderOptions{AllowPrivateTargets: true}})
	if err != nil {
		t.Fatal(err)
	}
	fa, xs := fusionauth.New(deps), xsolla.New(deps)
	engine.Register(fa.Encoder(), xs.Encoder())
	srv := server.New(log)
	srv.Register(fa, xs, native.New(deps, engine, srv, store.HashSecret(token)))
	u := servertest.Serve(t, srv)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	return &portalBundle{db: db, url: u, c: servertest.NewContract(t, spec, u)}
}

// admin calls /v1 with the admin token, checking the answer against the spec.
func (b *portalBundle) admin(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	resp, out := b.c.Do(t, servertest.Request(t, method, b.url+path, body, "Authorization", "Bearer "+token))
	return resp.StatusCode, out
}

// link makes a portal link for tenant and returns its id and token.
func (b *portalBundle) link(t *testing.T, tenant, expiresIn string) (string, string) {
	t.Helper()
	status, out := b.admin(t, "POST", "/v1/portal-links", `{"tenant":"`+tenant+`","expiresIn":"`+expiresIn+`","name":"Acme","accent":"#AA3300"}`)
	var l api.NewPortalLink
	if err := json.Unmarshal(out, &l); status != 201 || err != nil {
		t.Fatalf("create a portal link: %d %s", status, out)
	}
	_, tok, ok := strings.Cut(l.Url, "/portal/#token=")
	if !ok || !strings.HasPrefix(l.Url, b.url) || l.Tenant != tenant {
		t.Fatalf("portal link: %+v", l)
	}
	return l.Id, tok
}

// portal calls /portal/v1 with the session cookie.
func (b *portalBundle) portal(t *testing.T, cookie, method, path, body string) (int, []byte) {
	t.Helper()
	req := servertest.Request(t, method, b.url+path, body, native.PortalHeader, "1", "Content-Type", "application/json")
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: native.PortalCookie, Value: cookie})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, []byte(out.String())
}

// session redeems token and returns the session cookie's value.
func (b *portalBundle) session(t *testing.T, tok string) string {
	t.Helper()
	req := servertest.Request(t, "POST", b.url+"/portal/v1/session", `{"token":"`+tok+`"}`, native.PortalHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == native.PortalCookie && c.HttpOnly && c.Path == "/portal/" && c.SameSite == http.SameSiteStrictMode {
			if resp.StatusCode != 201 {
				t.Fatalf("redeem: %d", resp.StatusCode)
			}
			return c.Value
		}
	}
	t.Fatalf("redeem: %d without an HttpOnly session cookie on /portal/: %v", resp.StatusCode, resp.Header)
	return ""
}

// consoleRoutes checks, within TestContract, the /v1 additions the console uses against
// the spec, on both backends: dialects, a webhook's stats, header names, the request body
// of an attempt, the deliveries' event type filter and cursor, and portal links.
func consoleRoutes(t *testing.T, into *servertest.Contract) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newPortalBundle(t, db)
		testConsoleRoutes(t, b)
		into.Absorb(b.c)
	})
}

func testConsoleRoutes(t *testing.T, b *portalBundle) {
	ctx := context.Background()

	status, out := b.admin(t, "GET", "/v1/dialects", "")
	if status != 200 || string(out) != `{"dialects":[{"api":true,"name":"fusionauth"},{"api":true,"name":"xsolla"},{"api":false,"name":"standard"}]}`+"\n" {
		t.Errorf("dialects: %d %s", status, out)
	}
	status, out = b.admin(t, "POST", "/v1/webhooks", `{"url":"https://example.com/a","events":["user.created"],"tenant":"t1","headers":{"X-Team":"red","Authorization":"secret-value"}}`)
	var w api.Webhook
	if err := json.Unmarshal(out, &w); status != 201 || err != nil || w.HeaderNames == nil || strings.Join(*w.HeaderNames, ",") != "Authorization,X-Team" || strings.Contains(string(out), "secret-value") {
		t.Fatalf("create with headers: %d %s", status, out)
	}
	// Three events of two types: the filter by type, and pages of one by cursor.
	for _, typ := range []string{"user.created", "user.deleted", "user.created"} {
		if status, out = b.admin(t, "POST", "/v1/events", `{"type":"`+typ+`","tenant":"t1","data":{}}`); status != 201 {
			t.Fatalf("publish: %d %s", status, out)
		}
	}
	if status, out = b.admin(t, "PATCH", "/v1/webhooks/"+w.Id, `{"events":["user.created","user.deleted"]}`); status != 200 {
		t.Fatalf("patch: %d %s", status, out)
	}
	if status, out = b.admin(t, "POST", "/v1/events", `{"type":"user.deleted","tenant":"t1","data":{}}`); status != 201 {
		t.Fatalf("publish: %d %s", status, out)
	}
	var page struct {
		Total      int64
		NextCursor string
		Deliveries []api.Delivery
	}
	status, out = b.admin(t, "GET", "/v1/deliveries?eventType=user.created", "")
	if err := json.Unmarshal(out, &page); status != 200 || err != nil || page.Total != 2 || len(page.Deliveries) != 2 || page.NextCursor != "" {
		t.Errorf("deliveries of user.created: %d %s", status, out)
	}
	status, out = b.admin(t, "GET", "/v1/deliveries?eventType=user.deleted", "")
	if err := json.Unmarshal(out, &page); status != 200 || err != nil || page.Total != 1 {
		t.Errorf("deliveries of user.deleted: %d %s", status, out)
	}
	seen := map[string]bool{}
	cursor := ""
	for i := 0; i < 5; i++ {
		q := "/v1/deliveries?limit=1&webhookId=" + w.Id
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		page.NextCursor = ""
		status, out = b.admin(t, "GET", q, "")
		if err := json.Unmarshal(out, &page); status != 200 || err != nil || page.Total != 3 || len(page.Deliveries) != 1 {
			t.Fatalf("page %d: %d %s", i, status, out)
		}
		seen[page.Deliveries[0].Id] = true
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 3 {
		t.Errorf("paging by cursor saw %d deliveries, want 3", len(seen))
	}
	for _, q := range []string{"cursor=nope", "cursor=" + url.QueryEscape(page.Deliveries[0].Id) + "&offset=1"} {
		if status, out = b.admin(t, "GET", "/v1/deliveries?"+q, ""); status != 400 {
			t.Errorf("deliveries ?%s: %d %s", q, status, out)
		}
	}

	// Stats: two attempts in the hour, one succeeded; one more a few hours ago.
	d := page.Deliveries[0]
	now := b.db.Now()
	for i, a := range []store.Attempt{
		{StartedAt: now.Add(-10 * time.Minute), DurationMS: 100, ResponseStatus: 500, RequestBody: `{"type":"user.created"}`},
		{StartedAt: now.Add(-5 * time.Minute), DurationMS: 300, ResponseStatus: 200, RequestBody: `{"type":"user.created"}`},
		{StartedAt: now.Add(-3 * time.Hour), DurationMS: 900, ResponseStatus: 200},
	} {
		a.ID, a.DeliveryID, a.Number, a.URL = d.Id+"-"+string(rune('a'+i)), d.Id, i+1, "https://example.com/a"
		if err := storetest.RecordAttempt(ctx, b.db, &a, &store.Delivery{ID: d.Id, Status: store.DeliveryPending, Attempts: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	status, out = b.admin(t, "GET", "/v1/webhooks/"+w.Id+"/stats", "")
	var st api.WebhookStats
	if err := json.Unmarshal(out, &st); status != 200 || err != nil {
		t.Fatalf("stats: %d %s", status, out)
	}
	if h := st.Hour; h.Attempts != 2 || h.Succeeded != 1 || *h.SuccessRate != 0.5 || *h.P50Ms != 100 || *h.P95Ms != 300 {
		t.Errorf("stats of the hour: %s", out)
	}
	if dd := st.Day; dd.Attempts != 3 || dd.Succeeded != 2 || *dd.P50Ms != 300 || *dd.P95Ms != 900 {
		t.Errorf("stats of the day: %s", out)
	}
	if status, _ = b.admin(t, "GET", "/v1/webhooks/nope/stats", ""); status != 404 {
		t.Errorf("stats of an unknown webhook: %d", status)
	}
	status, out = b.admin(t, "GET", "/v1/deliveries/"+d.Id, "")
	if status != 200 || !strings.Contains(string(out), `"requestBody":"{\"type\":\"user.created\"}"`) {
		t.Errorf("an attempt's request body: %d %s", status, out)
	}

	// Portal links: bad requests, then a link and its revocation.
	for _, bad := range []string{`{}`, `{"tenant":""}`, `{"tenant":"t1","expiresIn":"10s"}`, `{"tenant":"t1","expiresIn":"1000h"}`,
		`{"tenant":"t1","accent":"red"}`, `{"tenant":"t1","accent":"#ff0000; x"}`, `nope`} {
		if status, out = b.admin(t, "POST", "/v1/portal-links", bad); status != 400 {
			t.Errorf("portal link %s: %d %s", bad, status, out)
		}
	}
	id, tok := b.link(t, "t1", "")
	other, _ := b.link(t, "t2", "")
	status, out = b.admin(t, "GET", "/v1/portal-links?tenant=t1", "")
	if status != 200 || !strings.Contains(string(out), id) || strings.Contains(string(out), other) || strings.Contains(string(out), tok) || !strings.Contains(string(out), `"total":1`) {
		t.Errorf("portal links of t1: %d %s", status, out)
	}
	_, first := b.admin(t, "GET", "/v1/portal-links?limit=1", "")
	if status, out = b.admin(t, "GET", "/v1/portal-links?limit=1&offset=1", ""); status != 200 || strings.Count(string(out)+string(first), `"id"`) != 2 ||
		!strings.Contains(string(out)+string(first), id) || !strings.Contains(string(out)+string(first), other) || !strings.Contains(string(out), `"total":2`) {
		t.Errorf("the second page of portal links: %d %s", status, out)
	}
	if status, _ = b.admin(t, "GET", "/v1/portal-links?limit=0", ""); status != 400 {
		t.Errorf("portal links ?limit=0: %d", status)
	}
	if status, _ = b.admin(t, "DELETE", "/v1/portal-links/"+id, ""); status != 204 {
		t.Errorf("revoke: %d", status)
	}
	if status, _ = b.admin(t, "DELETE", "/v1/portal-links/nope", ""); status != 404 {
		t.Errorf("revoke an unknown link: %d", status)
	}
	if status, out = b.portal(t, "", "POST", "/portal/v1/session", `{"token":"`+tok+`"}`); status != 401 {
		t.Errorf("a revoked link opens a session: %d %s", status, out)
	}
	for _, p := range []string{"/v1/dialects", "/v1/webhooks/" + w.Id + "/stats"} {
		if resp, _ := b.c.Do(t, servertest.Request(t, "GET", b.url+p, "", "Authorization", "Bearer no")); resp.StatusCode != 401 {
			t.Errorf("GET %s without the token: %d", p, resp.StatusCode)
		}
	}
	if status, out = b.admin(t, "GET", "/v1/portal-links?tenant=t1", ""); status != 200 || strings.Contains(string(out), id) {
		t.Errorf("a revoked link is listed: %d %s", status, out)
	}
	for _, c := range [][3]string{{"POST", "/v1/portal-links", `{"tenant":"t1"}`}, {"DELETE", "/v1/portal-links/" + id, ""}, {"GET", "/v1/portal-links", ""}} {
		if resp, _ := b.c.Do(t, servertest.Request(t, c[0], b.url+c[1], c[2], "Authorization", "Bearer no")); resp.StatusCode != 401 {
			t.Errorf("%s %s without the token: %d", c[0], c[1], resp.StatusCode)
		}
	}
}

// TestPortalIsolation walks every portal route as tenant A with tenant B's ids, and with
// expired, revoked and missing sessions: nothing of B's is revealed or changed. A portal
// session on every /v1 route of the spec is 401.
func TestPortalIsolation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newPortalBundle(t, db)
		ctx := context.Background()
		const tenantA, tenantB = "4b7c5d2e-0000-4000-8000-00000000000a", "4b7c5d2e-0000-4000-8000-00000000000b"

		// B's webhooks: a native subscription, an Xsolla webhook of its project and a
		// FusionAuth webhook of its tenant; a global FusionAuth webhook is the operator's.
		status, out := b.admin(t, "POST", "/v1/webhooks", `{"url":"https://b.example.com/native","events":["user.created"],"tenant":"`+tenantB+`"}`)
		var bNative api.Webhook
		if err := json.Unmarshal(out, &bNative); status != 201 || err != nil {
			t.Fatalf("create B's webhook: %d %s", status, out)
		}
		bXsolla := &store.Webhook{Dialect: "xsolla", Owner: tenantB, ExternalID: "x-b", URL: "https://b.example.com/xsolla", Events: []string{"registration"}, Enabled: true}
		bFA := &store.Webhook{Dialect: "fusionauth", TenantIDs: []string{tenantB}, ExternalID: "fa-b", URL: "https://b.example.com/fa", Events: []string{"user.create"}, Enabled: true}
		global := &store.Webhook{Dialect: "fusionauth", Global: true, ExternalID: "fa-g", URL: "https://ops.example.com/fa", Events: []string{"user.create"}, Enabled: true}
		aXsolla := &store.Webhook{Dialect: "xsolla", Owner: tenantA, ExternalID: "x-a", URL: "https://a.example.com/xsolla", Events: []string{"registration"}, Enabled: true}
		for _, w := range []*store.Webhook{bXsolla, bFA, global, aXsolla} {
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		if status, out = b.admin(t, "POST", "/v1/events", `{"id":"evt-b","type":"user.created","tenant":"`+tenantB+`","data":{}}`); status != 201 {
			t.Fatalf("publish for B: %d %s", status, out)
		}
		status, out = b.admin(t, "GET", "/v1/deliveries?eventId=evt-b", "")
		var ds struct{ Deliveries []api.Delivery }
		if err := json.Unmarshal(out, &ds); status != 200 || err != nil || len(ds.Deliveries) < 3 {
			t.Fatalf("B's deliveries: %d %s", status, out)
		}
		if err := storetest.SetDeliveryStatus(ctx, db, ds.Deliveries[0].Id, store.DeliveryFailed, "gave up"); err != nil {
			t.Fatal(err)
		}
		status, out = b.admin(t, "POST", "/v1/webhooks/"+bNative.Id+"/recover", `{"since":"2000-01-01T00:00:00Z"}`)
		var rec api.Recovery
		if err := json.Unmarshal(out, &rec); status != 202 || err != nil {
			t.Fatalf("recover B's webhook: %d %s", status, out)
		}
		bIDs := []string{bNative.Id, bXsolla.ID, bFA.ID, global.ID, rec.Id, "evt-b"}
		for _, d := range ds.Deliveries {
			bIDs = append(bIDs, d.Id)
		}
		secrets, _ := db.WebhookByID(ctx, bNative.Id)
		reveals := func(body []byte) string {
			for _, id := range append(bIDs, secrets.SigningSecrets[0].Secret, "b.example.com", "ops.example.com") {
				if strings.Contains(string(body), id) {
					return id
				}
			}
			return ""
		}

		_, tokA := b.link(t, tenantA, "1h")
		a := b.session(t, tokA)
		// The link is one-time.
		if status, out = b.portal(t, "", "POST", "/portal/v1/session", `{"token":"`+tokA+`"}`); status != 401 {
			t.Errorf("a link redeemed twice: %d %s", status, out)
		}
		// A sees its own and nothing else.
		status, out = b.portal(t, a, "GET", "/portal/v1/webhooks", "")
		if status != 200 || !strings.Contains(string(out), aXsolla.ID) || reveals(out) != "" {
			t.Errorf("A's webhooks: %d %s", status, out)
		}
		status, out = b.portal(t, a, "GET", "/portal/v1/session", "")
		if status != 200 || !strings.Contains(string(out), `"tenant":"`+tenantA+`"`) || !strings.Contains(string(out), `"accent":"#aa3300"`) {
			t.Errorf("A's session: %d %s", status, out)
		}

		type call struct{ method, path, body string }
		var walk []call
		for _, w := range []string{bNative.Id, bXsolla.ID, bFA.ID, global.ID} {
			for _, c := range []call{
				{"GET", "/portal/v1/webhooks/%s", ""}, {"PATCH", "/portal/v1/webhooks/%s", `{"url":"https://a.example.com/stolen"}`},
				{"DELETE", "/portal/v1/webhooks/%s", ""}, {"GET", "/portal/v1/webhooks/%s/secrets", ""},
				{"POST", "/portal/v1/webhooks/%s/secrets/rotate", `{}`}, {"GET", "/portal/v1/webhooks/%s/stats", ""},
				{"POST", "/portal/v1/webhooks/%s/test", `{}`}, {"POST", "/portal/v1/webhooks/%s/recover", `{"since":"2000-01-01T00:00:00Z"}`},
				{"POST", "/portal/v1/webhooks/%s/disable", ""}, {"POST", "/portal/v1/webhooks/%s/enable", ""},
				{"GET", "/portal/v1/deliveries?webhookId=%s", ""},
			} {
				walk = append(walk, call{c.method, strings.ReplaceAll(c.path, "%s", w), c.body})
			}
		}
		for _, d := range ds.Deliveries {
			walk = append(walk, call{"GET", "/portal/v1/deliveries/" + d.Id, ""}, call{"POST", "/portal/v1/deliveries/" + d.Id + "/retry", ""})
		}
		walk = append(walk, call{"GET", "/portal/v1/recoveries/" + rec.Id, ""}, call{"GET", "/portal/v1/deliveries?eventId=evt-b", ""},
			call{"GET", "/portal/v1/deliveries", ""}, call{"POST", "/portal/v1/webhooks", `{"url":"https://a.example.com/n","events":["user.created"],"tenant":"` + tenantB + `"}`})
		before := snapshot(t, db, bIDs)
		bad := 0
		for _, c := range walk {
			status, out := b.portal(t, a, c.method, c.path, c.body)
			if id := reveals(out); id != "" || (status/100 == 2 && c.path != "/portal/v1/deliveries" && !strings.HasPrefix(c.path, "/portal/v1/deliveries?") && c.path != "/portal/v1/webhooks") {
				bad++
				t.Errorf("%s %s as A: %d %s (reveals %q)", c.method, c.path, status, out, id)
			}
		}
		// The webhook A made in the portal is A's, whatever tenant its body named.
		status, out = b.portal(t, a, "GET", "/portal/v1/webhooks", "")
		if status != 200 || !strings.Contains(string(out), `"owner":"`+tenantA+`"`) || strings.Contains(string(out), `"owner":"`+tenantB+`"`) {
			t.Errorf("A's webhooks after creating one: %d %s", status, out)
		}
		if after := snapshot(t, db, bIDs); after != before {
			bad++
			t.Errorf("B's data changed:\nbefore %s\nafter  %s", before, after)
		}

		// Expired, revoked, missing and forged sessions, and requests without the header.
		idB, tokB := b.link(t, tenantB, "1m")
		sessB := b.session(t, tokB)
		if status, _ = b.portal(t, sessB, "GET", "/portal/v1/webhooks/"+bNative.Id, ""); status != 200 {
			t.Errorf("B's own webhook: %d", status)
		}
		_, tokC := b.link(t, tenantB, "1m")
		sessC := b.session(t, tokC)
		if status, _ = b.admin(t, "DELETE", "/v1/portal-links/"+idB, ""); status != 204 {
			t.Errorf("revoke: %d", status)
		}
		realNow := db.Now
		db.Now = func() time.Time { return realNow().Add(2 * time.Minute) }
		defer func() { db.Now = realNow }()
		for name, s := range map[string]string{"revoked": sessB, "expired": sessC, "missing": "", "forged": "x" + sessC} {
			for _, c := range append(walk, call{"GET", "/portal/v1/webhooks", ""}, call{"GET", "/portal/v1/session", ""}) {
				status, out := b.portal(t, s, c.method, c.path, c.body)
				if status != 401 || reveals(out) != "" {
					bad++
					t.Errorf("%s session: %s %s: %d %s", name, c.method, c.path, status, out)
				}
			}
		}
		db.Now = realNow
		req := servertest.Request(t, "GET", b.url+"/portal/v1/webhooks", "")
		req.AddCookie(&http.Cookie{Name: native.PortalCookie, Value: a})
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
			t.Errorf("a request without %s: %v %v", native.PortalHeader, resp, err)
		} else {
			resp.Body.Close()
		}

		// A portal session on every /v1 route of the spec.
		spec, _ := api.GetSwagger()
		n := 0
		for path, item := range spec.Paths.Map() {
			if !strings.HasPrefix(path, "/v1/") {
				continue
			}
			p := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, bNative.Id)
			for method := range item.Operations() {
				req := servertest.Request(t, method, b.url+p, `{}`, native.PortalHeader, "1", "Content-Type", "application/json")
				req.AddCookie(&http.Cookie{Name: native.PortalCookie, Value: a})
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				n++
				if resp.StatusCode != 401 {
					bad++
					t.Errorf("portal session on %s %s: %d", method, p, resp.StatusCode)
				}
			}
		}
		t.Logf("%d portal calls with another tenant's ids, %d with ended sessions, %d /v1 operations with a portal session: %d answers revealed or changed another tenant's data or let the session in",
			len(walk), 4*(len(walk)+2), n, bad)
	})
}

// snapshot renders what the store holds of ids' webhooks and deliveries.
func snapshot(t *testing.T, db *store.DB, ids []string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, id := range ids {
		if w, err := db.WebhookByID(ctx, id); err == nil {
			b.WriteString(w.ID + " " + w.URL + " " + strings.Join(w.Events, ",") + " " + w.SigningSecrets[0].Secret)
			if w.DisabledAt != nil {
				b.WriteString(" disabled")
			}
			b.WriteString(";")
		}
		if d, err := db.GetDelivery(ctx, id); err == nil {
			b.WriteString(d.ID + " " + d.Status + ";")
		}
	}
	return b.String()
}

// TestPortalMirrorsV1 walks every portal route on the tenant's own webhook, delivery and
// recovery, and checks each answer against the spec of the /v1 operation it mirrors.
func TestPortalMirrorsV1(t *testing.T) {
	t.Parallel()
	b := newPortalBundle(t, storetest.Open(t))
	const tenant = "mirror-tenant"
	_, tok := b.link(t, tenant, "1h")
	s := b.session(t, tok)
	call := func(method, path, body string, want int) []byte {
		t.Helper()
		req := servertest.Request(t, method, b.url+"/portal"+path, body, native.PortalHeader, "1", "Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: native.PortalCookie, Value: s})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s /portal%s: %d %s, want %d", method, path, resp.StatusCode, out.String(), want)
		}
		mirror := servertest.Request(t, method, b.url+path, body, "Content-Type", "application/json")
		b.c.Check(t, mirror, resp, []byte(out.String()))
		return []byte(out.String())
	}
	var w api.Webhook
	if err := json.Unmarshal(call("POST", "/v1/webhooks", `{"url":"https://mirror.example.com/a","events":["user.created"],"tenant":"someone-else"}`, 201), &w); err != nil {
		t.Fatal(err)
	}
	if w.Scope.Owner == nil || *w.Scope.Owner != tenant {
		t.Errorf("the portal's webhook belongs to %v, not the session's tenant", w.Scope.Owner)
	}
	if status, out := b.admin(t, "POST", "/v1/events", `{"id":"evt-mirror","type":"user.created","tenant":"`+tenant+`","data":{}}`); status != 201 {
		t.Fatalf("publish: %d %s", status, out)
	}
	id := "/v1/webhooks/" + w.Id
	// The list shows each endpoint's circuit as /v1/webhooks does.
	until := time.Now().UTC().Truncate(time.Millisecond).Add(time.Hour)
	if _, _, err := b.db.OpenBreaker(context.Background(), w.Id, until.Add(-time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	var list struct{ Webhooks []api.Webhook }
	if err := json.Unmarshal(call("GET", "/v1/webhooks", "", 200), &list); err != nil || len(list.Webhooks) != 1 {
		t.Fatalf("the tenant's webhooks: %v %+v", err, list)
	}
	if c := list.Webhooks[0].Circuit; c == nil || c.State != api.CircuitOpen || c.Until == nil || !c.Until.Equal(until) {
		t.Errorf("the portal's list shows circuit %+v, want open until %s", c, until)
	}
	if _, err := b.db.CloseBreaker(context.Background(), w.Id, time.Now()); err != nil {
		t.Fatal(err)
	}
	call("GET", id, "", 200)
	call("PATCH", id, `{"description":"changed in the portal"}`, 200)
	call("PATCH", id, `{"url":"ftp://nope"}`, 400)
	call("GET", id+"/secrets", "", 200)
	call("POST", id+"/secrets/rotate", `{"graceSeconds":60}`, 200)
	call("GET", id+"/stats", "", 200)
	call("POST", id+"/disable", "", 204)
	call("POST", id+"/enable", "", 204)
	call("POST", id+"/test", `{}`, 200)
	var rec api.Recovery
	_ = json.Unmarshal(call("POST", id+"/recover", `{"since":"2000-01-01T00:00:00Z"}`, 202), &rec)
	call("GET", "/v1/recoveries/"+rec.Id, "", 200)
	call("GET", "/v1/event-types", "", 200)
	var page struct{ Deliveries []api.Delivery }
	_ = json.Unmarshal(call("GET", "/v1/deliveries?status=pending&eventType=user.created&limit=5", "", 200), &page)
	if len(page.Deliveries) != 1 {
		t.Fatalf("the tenant's deliveries: %+v", page)
	}
	for q, want := range map[string]string{"webhookId=" + w.Id: `"total":1`, "webhookId=other": `"total":0`, "status=failed": `"total":0`, "since=2999-01-01T00:00:00Z": `"total":0`} {
		if out := call("GET", "/v1/deliveries?"+q, "", 200); !strings.Contains(string(out), want) {
			t.Errorf("the tenant's deliveries ?%s: %s, want %s", q, out, want)
		}
	}
	call("GET", "/v1/deliveries?status=sad", "", 400)
	call("GET", "/v1/deliveries?limit=x", "", 400)
	call("GET", "/v1/deliveries/"+page.Deliveries[0].Id, "", 200)
	call("POST", "/v1/deliveries/"+page.Deliveries[0].Id+"/retry", "", 409)
	call("GET", "/v1/webhooks/nope", "", 404)
	call("DELETE", id, "", 204)
	call("GET", id, "", 404)
}
