package delivery

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func testSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func verifyStandard(t *testing.T, secret string, body []byte, h http.Header) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("reference library rejected secret %q: %v", secret, err)
	}
	return wh.Verify(body, h)
}

// The known answer of the Standard Webhooks reference libraries (TestWebhookSign).
func TestStandardHeaders_KnownAnswer(t *testing.T) {
	t.Parallel()
	h, err := StandardHeaders("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0),
		[]byte(`{"test": 2432232314}`), []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"webhook-id":        "msg_p5jXN8AQM9LWM0D4loKWxJek",
		"webhook-timestamp": "1614265330",
		"webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestStandardHeaders_VerifiesWithReferenceLibrary(t *testing.T) {
	t.Parallel()
	secret := testSecret(t)
	body := []byte(`{"type":"user.created","data":{"id":"42","name":"Zoë"}}`)
	now := time.Now()
	h, err := StandardHeaders("dlv_01J9ZQ", now, body, []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("webhook-timestamp"); got != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("webhook-timestamp = %q, want %d", got, now.Unix())
	}
	if err := verifyStandard(t, secret, body, h); err != nil {
		t.Fatalf("reference verifier: %v", err)
	}
	// Without the prefix the reference library decodes the same key.
	if err := verifyStandard(t, strings.TrimPrefix(secret, "whsec_"), body, h); err != nil {
		t.Fatalf("reference verifier, unprefixed secret: %v", err)
	}
	// A changed body, id, or another secret must not verify.
	if err := verifyStandard(t, secret, append(body, ' '), h); err == nil {
		t.Error("a changed body verified")
	}
	other := h.Clone()
	other.Set("webhook-id", "dlv_other")
	if err := verifyStandard(t, secret, body, other); err == nil {
		t.Error("a changed webhook-id verified")
	}
	if err := verifyStandard(t, testSecret(t), body, h); err == nil {
		t.Error("another secret verified")
	}
}

// During rotation every active secret signs; a receiver holding either one alone must
// accept the delivery.
func TestStandardHeaders_TwoSecrets(t *testing.T) {
	t.Parallel()
	oldSecret, newSecret := testSecret(t), testSecret(t)
	body := []byte(`{"n":1}`)
	h, err := StandardHeaders("dlv_rotating", time.Now(), body, []string{oldSecret, newSecret})
	if err != nil {
		t.Fatal(err)
	}
	sigs := strings.Split(h.Get("webhook-signature"), " ")
	if len(sigs) != 2 || !strings.HasPrefix(sigs[0], "v1,") || !strings.HasPrefix(sigs[1], "v1,") || sigs[0] == sigs[1] {
		t.Fatalf("webhook-signature = %q, want two distinct space-separated v1 signatures", h.Get("webhook-signature"))
	}
	for i, s := range []string{oldSecret, newSecret} {
		if err := verifyStandard(t, s, body, h); err != nil {
			t.Errorf("secret %d alone does not verify: %v", i, err)
		}
	}
	if err := verifyStandard(t, testSecret(t), body, h); err == nil {
		t.Error("a third secret verified")
	}
	// Each signature is the single-secret signature, in order.
	for i, s := range []string{oldSecret, newSecret} {
		one, err := StandardHeaders("dlv_rotating", time.Unix(mustAtoi(t, h.Get("webhook-timestamp")), 0), body, []string{s})
		if err != nil {
			t.Fatal(err)
		}
		if one.Get("webhook-signature") != sigs[i] {
			t.Errorf("signature %d = %q, want %q", i, sigs[i], one.Get("webhook-signature"))
		}
	}
}

func TestStandardHeaders_BadSecret(t *testing.T) {
	t.Parallel()
	if _, err := StandardHeaders("m", time.Now(), nil, []string{"whsec_not base64!"}); err == nil {
		t.Error("a malformed secret was accepted")
	}
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
