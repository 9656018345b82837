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

// errorTable is the dialect's error policy: the status and Xsolla code of each store
// error code, and the description when it is not the error's own message. A code not in
// the table is an internal error. Xsolla's own cases (a bad token, an unknown project)
// are xsollaErrors, written as they are.
var errorTable = map[string]xsollaError{
	store.EINVALID:     {status: http.StatusUnprocessableEntity, code: "002-027"},
	store.ENOTFOUND:    {status: http.StatusNotFound, code: "003-061", descr: "Object not found."},
	store.ETOOLARGE:    {status: http.StatusRequestEntityTooLarge, code: "003-413"},
	store.ETHROTTLED:   {status: http.StatusTooManyRequests, code: "003-429"},                                                    // Retry-After is set
	store.EUNAVAILABLE: {status: http.StatusServiceUnavailable, code: "003-503", descr: "Service unavailable: try again later."}, // Retry-After is set
	store.EINTERNAL:    {status: http.StatusInternalServerError, code: "000-500", descr: "Internal error."},
}

// answer is err's entry of the table; echo's own errors are a 404 or an invalid request.
func answer(err error) xsollaError {
	var xe *xsollaError
	if errors.As(err, &xe) {
		return *xe
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if he.Code == http.StatusNotFound {
			return errorTable[store.ENOTFOUND]
		}
		a := errorTable[store.EINVALID]
		a.descr = "Invalid request."
		return a
	}
	a, ok := errorTable[store.ErrorCode(err)]
	if !ok {
		return errorTable[store.EINTERNAL]
	}
	if a.descr == "" {
		a.descr = store.ErrorMessage(err)
	}
	return a
}

// render writes err as {"error": {"code", "description", "details"?}}.
func render(c echo.Context, err error) error {
	xe := answer(err)
	e := map[string]any{"code": xe.code, "description": xe.descr}
	if xe.details != nil {
		e["details"] = xe.details
	}
	return c.JSON(xe.status, map[string]any{"error": e})
}
