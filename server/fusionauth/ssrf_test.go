package fusionauth_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A webhook URL the delivery policy refuses (a literal private, loopback, link-local or
// metadata address, or an ambiguous numeric host) is a validation error of the url field,
// on create, PUT and PATCH; names are not resolved, and a URL left as it is is not checked
// again.
func TestWebhookURL_RefusedTargets(t *testing.T) {
	g := startOn(t, storetest.Open(t), func(d *server.Deps) { d.Targets = delivery.NewTargets(false, nil) })
	const id = "00000000-0000-4000-8000-0000000000f1"
	body := func(url string) string {
		return `{"webhook":{"url":"` + url + `","connectTimeout":1,"readTimeout":1}}`
	}
	for _, url := range []string{"http://169.254.169.254/latest/meta-data", "http://127.0.0.1:8080/", "http://[::1]/", "http://2130706433/", "http://0x7f000001/", "http://127.1/", "http://0177.0.0.1/", "http://10.0.0.7/", "http://localhost/"} {
		if s, b, _ := g.do(t, "POST", "/api/webhook", body(url)); s != 400 || !reflect.DeepEqual(codes(t, b), []string{"[invalid]webhook.url"}) {
			t.Errorf("create with %s: %d %s", url, s, b)
		}
	}
	if s, b, _ := g.do(t, "POST", "/api/webhook/"+id, body("https://hooks.example.com/a")); s != 200 {
		t.Fatalf("create with a name: %d %s", s, b)
	}
	if s, b, _ := g.do(t, "PUT", "/api/webhook/"+id, body("http://192.168.1.1/")); s != 400 || !reflect.DeepEqual(codes(t, b), []string{"[invalid]webhook.url"}) {
		t.Errorf("PUT to a private address: %d %s", s, b)
	}
	if s, b, _ := g.do(t, "PATCH", "/api/webhook/"+id, `{"webhook":{"url":"http://127.1/"}}`, "Content-Type", "application/merge-patch+json"); s != 400 || !reflect.DeepEqual(codes(t, b), []string{"[invalid]webhook.url"}) {
		t.Errorf("PATCH to a numeric host: %d %s", s, b)
	}
	if _, b, _ := g.do(t, "GET", "/api/webhook/"+id, ""); *webhookOf(t, b).Url != "https://hooks.example.com/a" {
		t.Errorf("a refused change was stored: %s", b)
	}
	// A webhook stored before the check (or under another policy) can still be changed
	// without changing its URL.
	if _, err := g.db.UpdateWebhook(context.Background(), store.WebhookKey{Dialect: fusionauth.Name, ExternalID: id},
		func(w *store.Webhook) error { w.URL = "http://10.0.0.9/"; return nil }); err != nil {
		t.Fatal(err)
	}
	if s, b, _ := g.do(t, "PATCH", "/api/webhook/"+id, `{"webhook":{"description":"kept"}}`, "Content-Type", "application/merge-patch+json"); s != 200 {
		t.Errorf("PATCH that leaves a stored private URL alone: %d %s", s, b)
	}

	// The same policy with the address allowed lets it through.
	allowed := startOn(t, storetest.Open(t), func(d *server.Deps) { d.Targets = delivery.NewTargets(true, nil) })
	if s, b, _ := allowed.do(t, "POST", "/api/webhook", body("http://127.0.0.1:8080/")); s != 200 {
		t.Errorf("create on loopback with private targets allowed: %d %s", s, b)
	}
}
