package nursa

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/store"
)

// httpError is a NestJS HttpException body: message is a string, or a list of
// validation messages.
type httpError struct {
	status  int
	message any
}

func (e *httpError) Error() string { return fmt.Sprintf("nursa: %d %v", e.status, e.message) }

var (
	errUnauthorized = &httpError{status: http.StatusUnauthorized, message: "Unauthorized"}
	errForbidden    = &httpError{status: http.StatusForbidden, message: "Forbidden Resource"}
	errNotFound     = &httpError{status: http.StatusNotFound, message: "Webhook not found"}
	errBadUUID      = &httpError{status: http.StatusBadRequest, message: "Validation failed (uuid is expected)"}
)

func validationError(messages []string) error {
	return &httpError{status: http.StatusBadRequest, message: messages}
}

type tooManyRequests struct{ retryAfter time.Duration }

func (e *tooManyRequests) Error() string { return "nursa: too many requests" }

type oauthErr struct {
	status      int
	code, descr string
}

func (e *oauthErr) Error() string { return "nursa: " + e.code }

func oauthError(status int, code, descr string) error {
	return &oauthErr{status: status, code: code, descr: descr}
}

// render writes err as Nursa (NestJS) does. 401 has no "error" key; 429 is HTML.
func render(c echo.Context, err error) error {
	var he *httpError
	var oe *oauthErr
	var tm *tooManyRequests
	var ee *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return writeHTTPError(c, he.status, he.message)
	case errors.As(err, &oe):
		return c.JSON(oe.status, map[string]string{"error": oe.code, "error_description": oe.descr})
	case errors.As(err, &tm):
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(tm.retryAfter.Seconds())+1))
		return c.HTML(http.StatusTooManyRequests, tooManyRequestsHTML)
	case errors.As(err, &ee):
		return writeHTTPError(c, ee.Code, http.StatusText(ee.Code))
	}
	switch store.ErrorCode(err) {
	case store.EINVALID:
		return writeHTTPError(c, http.StatusBadRequest, store.ErrorMessage(err))
	case store.ENOTFOUND:
		return writeHTTPError(c, http.StatusNotFound, "Webhook not found")
	case store.EUNAUTHORIZED:
		return writeHTTPError(c, http.StatusUnauthorized, "Unauthorized")
	case store.ETOOLARGE:
		// NestJS's body parser answers this, with its own wording.
		return c.JSON(http.StatusRequestEntityTooLarge, map[string]any{"message": "request entity too large", "error": "Payload Too Large", "statusCode": http.StatusRequestEntityTooLarge})
	case store.ETHROTTLED: // Retry-After is set; the body is Nursa's HTML, as for its rate limit
		return c.HTML(http.StatusTooManyRequests, tooManyRequestsHTML)
	case store.EUNAVAILABLE: // Retry-After is set
		return writeHTTPError(c, http.StatusServiceUnavailable, "Service Unavailable")
	}
	return writeHTTPError(c, http.StatusInternalServerError, "Internal server error")
}

const tooManyRequestsHTML = "<html><head><title>429 Too Many Requests</title></head><body><h1>429 Too Many Requests</h1></body></html>"

func writeHTTPError(c echo.Context, status int, message any) error {
	body := map[string]any{"message": message, "statusCode": status}
	if status != http.StatusUnauthorized {
		body["error"] = http.StatusText(status)
	}
	return c.JSON(status, body)
}
