package xsolla_test

import (
	"testing"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
)

// A webhook URL the delivery policy refuses is Xsolla's invalid-parameter error.
func TestWebhookURL_RefusedTargets(t *testing.T) {
	g := start(t, nil, func(d *server.Deps) { d.Targets = delivery.NewTargets(false, nil) })
	const project = "a1b2c3d4-0000-4000-8000-0000000000f1"
	tok := g.token(t, g.credential(t, project))
	for _, url := range []string{"http://169.254.169.254/latest/meta-data", "http://2130706433/", "http://[fd00::1]/"} {
		if s, b := g.do(t, tok, "POST", hooks(project, "registration"), `{"url":"`+url+`"}`); s != 422 || code(t, b) != "002-027" {
			t.Errorf("create with %s: %d %s", url, s, b)
		}
	}
	if s, b := g.do(t, tok, "POST", hooks(project, "registration"), `{"url":"https://hooks.example.com/x"}`); s != 200 {
		t.Errorf("create with a name: %d %s", s, b)
	}
}
