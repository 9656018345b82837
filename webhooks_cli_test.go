package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWebhooksCLI subscribes, inspects, disables and deletes a native webhook with the
// command line alone, against a running gateway, and sees its delivery arrive.
func TestWebhooksCLI(t *testing.T) {
	arrived := make(chan http.Header, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.Header.Clone()
	}))
	defer rcv.Close()
	base, _ := startGateway(t, "--db", t.TempDir()+"/cli.db", "--admin-token", "ops-admin-token-for-tests-0123456789", "--allow-targets", "127.0.0.1")
	cli := func(args ...string) string {
		t.Helper()
		var out, errb syncBuffer
		if err := run(context.Background(), append(args, "--url", base, "--token", "ops-admin-token-for-tests-0123456789"), &out, &errb); err != nil {
			t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}
	out := cli("webhooks", "create", "--endpoint", rcv.URL+"/hook", "--event", "user.created", "--event", "user.deleted", "--header", "X-Team=payments", "--filter", `{"tenant": {"$exists": true}}`, "--rate-limit", "50", "--ordered")
	m := regexp.MustCompile(`(?m)^([0-9a-f-]{36})\s+` + regexp.QuoteMeta(rcv.URL)).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Signing secret") || !strings.Contains(out, "whsec_") {
		t.Fatalf("webhooks create: %s", out)
	}
	id := m[1]
	if out := cli("webhooks", "show", id); !strings.Contains(out, "standard") || !strings.Contains(out, "user.created,user.deleted") || !strings.Contains(out, "active") ||
		!strings.Contains(out, "X-Team") || strings.Contains(out, "payments") || !strings.Contains(out, `Filter: {"tenant":{"$exists":true}}`) || !strings.Contains(out, "Rate limit: 50 a second") ||
		!strings.Contains(out, "Ordered: in lanes") {
		t.Errorf("webhooks show: %s", out)
	}
	if out := cli("publish", "--type", "user.created", "--ordering-key", "order-7"); !strings.Contains(out, "1 delivery") {
		t.Fatalf("publish: %s", out)
	}
	select {
	case h := <-arrived:
		if h.Get("X-Team") != "payments" || h.Get("Webhook-Signature") == "" {
			t.Errorf("delivery headers: %v", h)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the delivery never arrived")
	}
	if out := cli("webhooks", "disable", id); !strings.Contains(out, "disabled "+id) {
		t.Errorf("webhooks disable: %s", out)
	}
	if out := cli("webhooks", "show", id, "-o", "json"); !strings.Contains(out, `"disabledAt"`) {
		t.Errorf("webhooks show -o json after disable: %s", out)
	}
	if out := cli("publish", "--type", "user.created"); !strings.Contains(out, "0 deliveries") {
		t.Errorf("publish to a disabled webhook: %s", out)
	}
	if out := cli("webhooks", "delete", id); !strings.Contains(out, "deleted "+id) {
		t.Errorf("webhooks delete: %s", out)
	}
	var out2, errb syncBuffer
	if err := run(context.Background(), []string{"webhooks", "show", id, "--url", base, "--token", "ops-admin-token-for-tests-0123456789"}, &out2, &errb); err == nil {
		t.Errorf("webhooks show after delete succeeded: %s", out2.String())
	}
}
