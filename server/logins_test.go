package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

func from(addr string) echo.Context {
	req := httptest.NewRequest(http.MethodPost, "/token", nil)
	req.RemoteAddr = addr
	return echo.New().NewContext(req, httptest.NewRecorder())
}

func TestLogins_PerAddressAndPerCredential(t *testing.T) {
	l := server.NewLogins(3, time.Hour)
	// One address guessing at many credentials is throttled after its budget.
	for i := 0; i < 3; i++ {
		if err := l.Failed(from("192.0.2.1:1000"), "nursa:c"+string(rune('a'+i))); err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	c := from("192.0.2.1:1001") // another port of the same host: the same budget
	err := l.Failed(c, "nursa:other")
	if store.ErrorCode(err) != store.ETHROTTLED || c.Response().Header().Get("Retry-After") == "" {
		t.Errorf("past the address's budget: %v %q", err, c.Response().Header().Get("Retry-After"))
	}
	// Many addresses guessing at one credential are throttled after its budget.
	for i := 0; i < 3; i++ {
		if err := l.Failed(from("198.51.100."+string(rune('1'+i))+":1"), "xsolla:42"); err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if err := l.Failed(from("203.0.113.9:1"), "xsolla:42"); store.ErrorCode(err) != store.ETHROTTLED {
		t.Errorf("past the credential's budget: %v", err)
	}
	// Others are untouched.
	if err := l.Failed(from("203.0.113.9:1"), "xsolla:43"); err != nil {
		t.Errorf("another credential from a fresh address: %v", err)
	}
	// Disabled, nothing is throttled.
	var off *server.Logins = server.NewLogins(0, time.Hour)
	for i := 0; i < 100; i++ {
		if err := off.Failed(from("192.0.2.1:1"), ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLogins_Refill(t *testing.T) {
	l := server.NewLogins(1, 50*time.Millisecond)
	if err := l.Failed(from("192.0.2.1:1"), ""); err != nil {
		t.Fatal(err)
	}
	if err := l.Failed(from("192.0.2.1:1"), ""); store.ErrorCode(err) != store.ETHROTTLED {
		t.Fatalf("second failure: %v", err)
	}
	time.Sleep(120 * time.Millisecond)
	if err := l.Failed(from("192.0.2.1:1"), ""); err != nil {
		t.Errorf("after the budget refilled: %v", err)
	}
}
