package native_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/polyhook/polyhook/store/storetest"
)

// goIn runs the go command in dir, a module of its own, and returns its standard output.
func goIn(t *testing.T, dir string, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"CGO_ENABLED=0", "GOWORK=off", "GOFLAGS="}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s%s", strings.Join(args, " "), dir, err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// The examples are a module of their own that imports the client packages as another
// application would (through a replace): they compile, and the quickstart subscribes,
// publishes, sees its event delivered and retries it, against a running gateway.
func TestGoClientExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the examples module")
	}
	dir, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	goIn(t, dir, nil, "vet", "./...")

	url := startGateway(t, storetest.Open(t))
	rcv := newReceiver(t)
	env := []string{"POLYHOOK_URL=" + url, "POLYHOOK_ADMIN_TOKEN=" + token}

	out := goIn(t, dir, env, "run", "./quickstart", rcv.URL+"/quickstart")
	var res struct {
		WebhookID, Secret, EventID, DeliveryID, Status, Retried string
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Status != "succeeded" || res.Retried != "pending" {
		t.Fatalf("quickstart printed %s (%v)", out, err)
	}
	got := rcv.wait(t, "/quickstart", 2) // the delivery and its retry
	wh, err := standardwebhooks.NewWebhook(res.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("request %d does not verify with the secret the client was given: %v", i, err)
		}
		if id := r.header.Get("webhook-id"); id != res.DeliveryID {
			t.Errorf("request %d: webhook-id %q, want the delivery id %q", i, id, res.DeliveryID)
		}
		var body struct {
			Type string
			Data map[string]map[string]string
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.Type != "user.created" || body.Data["user"]["email"] != "ada@example.com" {
			t.Errorf("request %d: %s", i, r.body)
		}
	}

	out = goIn(t, dir, env, "run", "./fusionauth", rcv.URL+"/fusionauth")
	var fa struct {
		FusionauthID string
		Webhooks     int
	}
	if err := json.Unmarshal(out, &fa); err != nil || fa.FusionauthID == "" || fa.Webhooks != 1 {
		t.Errorf("fusionauth example printed %s (%v)", out, err)
	}
}
