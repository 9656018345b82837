package nursa_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/nursaapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store/storetest"
)

// A webhook URL the delivery policy refuses is Nursa's validation error, on create and on
// PATCH; a PATCH that leaves the URL alone is not checked again.
func TestWebhookURL_RefusedTargets(t *testing.T) {
	g := startOn(t, storetest.Open(t), nil, func(d *server.Deps) { d.Targets = delivery.NewTargets(false, nil) })
	_, token := g.client(t)
	for _, url := range []string{"https://169.254.169.254/latest", "https://0x7f000001/", "https://[::1]/"} {
		s, b := g.do(t, token, "POST", path, `{"url":"`+url+`","events":["all"]}`)
		if e := decodeErr(t, b); s != 400 || e.StatusCode != 400 || !strings.Contains(string(b), "url is refused") {
			t.Errorf("create with %s: %d %s", url, s, b)
		}
	}
	s, b := g.do(t, token, "POST", path, `{"url":"https://hooks.example.com/n","events":["all"]}`)
	var created api.WebhookResponse
	if err := json.Unmarshal(b, &created); s != 201 || err != nil {
		t.Fatalf("create with a name: %d %s", s, b)
	}
	id := created.Data.Id.String()
	if s, b := g.do(t, token, "PATCH", path+"/"+id, `{"events":["all"],"url":"https://127.1/"}`); s != 400 || !strings.Contains(string(b), "url is refused") {
		t.Errorf("PATCH to a numeric host: %d %s", s, b)
	}
	if s, b := g.do(t, token, "PATCH", path+"/"+id, `{"events":["all"],"secrets":["s"]}`); s != 200 {
		t.Errorf("PATCH without a url: %d %s", s, b)
	}
}
