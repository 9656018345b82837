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
	a, ok := errorTable[store.ErrorCode(err)]
	if !ok {
		a = errorTable[store.EINTERNAL]
	}
	switch {
	case a.html:
		return c.HTML(a.status, tooManyRequestsHTML)
	case a.body != nil:
		return c.JSON(a.status, a.body)
	case a.message == nil:
		return writeHTTPError(c, a.status, store.ErrorMessage(err))
	}
	return writeHTTPError(c, a.status, a.message)
}

// errorAnswer is how Nursa answers one kind of error: a NestJS HttpException of status
// with message (the error's own when nil), or a body of its own.
type errorAnswer struct {
	status  int
	message any
	// html answers the HTML page Nursa's rate limiter answers with; body, this JSON.
	html bool
	body map[string]any
}

// errorTable is the dialect's error policy, by store error code; a code not in the table
// is an internal error. Nursa's own cases (validation lists, OAuth errors, its rate limit)
// are written as they are.
var errorTable = map[string]errorAnswer{
	store.EINVALID:      {status: http.StatusBadRequest},
	store.ENOTFOUND:     {status: http.StatusNotFound, message: "Webhook not found"},
	store.EUNAUTHORIZED: {status: http.StatusUnauthorized, message: "Unauthorized"},
	// NestJS's body parser answers this, with its own wording.
	store.ETOOLARGE:    {status: http.StatusRequestEntityTooLarge, body: map[string]any{"message": "request entity too large", "error": "Payload Too Large", "statusCode": http.StatusRequestEntityTooLarge}},
	store.ETHROTTLED:   {status: http.StatusTooManyRequests, html: true},                        // Retry-After is set
	store.EUNAVAILABLE: {status: http.StatusServiceUnavailable, message: "Service Unavailable"}, // Retry-After is set
	store.EINTERNAL:    {status: http.StatusInternalServerError, message: "Internal server error"},
}

const tooManyRequestsHTML = "<html><head><title>429 Too Many Requests</title></head><body><h1>429 Too Many Requests</h1></body></html>"

func writeHTTPError(c echo.Context, status int, message any) error {
	body := map[string]any{"message": message, "statusCode": status}
	if status != http.StatusUnauthorized {
		body["error"] = http.StatusText(status)
	}
	return c.JSON(status, body)
}
