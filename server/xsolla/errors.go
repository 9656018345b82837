package xsolla

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/store"
)

// xsollaError is an error in Xsolla's envelope.
type xsollaError struct {
	status      int
	code, descr string
	details     map[string]any
}

func (e *xsollaError) Error() string {
	return fmt.Sprintf("xsolla: %d %s %s", e.status, e.code, e.descr)
}

func xerr(status int, code, descr string) error {
	return &xsollaError{status: status, code: code, descr: descr}
}

func xerrDetails(status int, code, descr string, details map[string]any) error {
	return &xsollaError{status: status, code: code, descr: descr, details: details}
}

// render writes err as {"error": {"code", "description", "details"?}}.
func render(c echo.Context, err error) error {
	var xe *xsollaError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &xe):
	case errors.As(err, &he) && he.Code == http.StatusNotFound:
		xe = &xsollaError{status: 404, code: "003-061", descr: "Object not found."}
	case errors.As(err, &he):
		xe = &xsollaError{status: http.StatusUnprocessableEntity, code: "002-027", descr: "Invalid request."}
	case store.ErrorCode(err) == store.EINVALID:
		xe = &xsollaError{status: http.StatusUnprocessableEntity, code: "002-027", descr: store.ErrorMessage(err)}
	case store.ErrorCode(err) == store.ENOTFOUND:
		xe = &xsollaError{status: http.StatusNotFound, code: "003-061", descr: "Object not found."}
	case store.ErrorCode(err) == store.ETOOLARGE:
		xe = &xsollaError{status: http.StatusRequestEntityTooLarge, code: "003-413", descr: store.ErrorMessage(err)}
	case store.ErrorCode(err) == store.ETHROTTLED: // Retry-After is set
		xe = &xsollaError{status: http.StatusTooManyRequests, code: "003-429", descr: store.ErrorMessage(err)}
	case store.ErrorCode(err) == store.EUNAVAILABLE: // Retry-After is set
		xe = &xsollaError{status: http.StatusServiceUnavailable, code: "003-503", descr: "Service unavailable: try again later."}
	default:
		xe = &xsollaError{status: http.StatusInternalServerError, code: "000-500", descr: "Internal error."}
	}
	e := map[string]any{"code": xe.code, "description": xe.descr}
	if xe.details != nil {
		e["details"] = xe.details
	}
	return c.JSON(xe.status, map[string]any{"error": e})
}
