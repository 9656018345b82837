package authing_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store/storetest"
)

// A webhook URL the delivery policy refuses is Authing's invalid-argument error, on create
// and update.
func TestWebhookURL_RefusedTargets(t *testing.T) {
	g := startOn(t, storetest.Open(t), nil, func(d *server.Deps) { d.Targets = delivery.NewTargets(false, nil) })
	m := g.mint(t)
	tok := g.token(t, m)
	create := func(url string) (int, envelope) {
		return g.call(t, tok, m.Field("userPoolId"), "POST", "/api/v3/create-webhook", `{"name":"s","url":"`+url+`","events":["login"],"contentType":"application/json"}`)
	}
	for _, url := range []string{"http://169.254.169.254/latest/meta-data", "http://0177.0.0.1/", "http://[fe80::1]/"} {
		if _, e := create(url); e.StatusCode != 400 || e.APICode != 4000 || !strings.Contains(e.Message, "url is refused") {
			t.Errorf("create with %s: %+v", url, e)
		}
	}
	_, e := create("https://hooks.example.com/a")
	var w struct{ WebhookID string }
	if err := json.Unmarshal(e.Data, &w); err != nil || e.StatusCode != 200 {
		t.Fatalf("create with a name: %+v", e)
	}
	if _, e := g.call(t, tok, m.Field("userPoolId"), "POST", "/api/v3/update-webhook", `{"webhookId":"`+w.WebhookID+`","url":"http://10.0.0.1/"}`); e.StatusCode != 400 || !strings.Contains(e.Message, "url is refused") {
		t.Errorf("update to a private address: %+v", e)
	}
	if _, e := g.call(t, tok, m.Field("userPoolId"), "POST", "/api/v3/update-webhook", `{"webhookId":"`+w.WebhookID+`","name":"renamed"}`); e.StatusCode != 200 {
		t.Errorf("update without a url: %+v", e)
	}
}
