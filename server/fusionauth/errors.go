package fusionauth

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/fusionauthapi"
	"github.com/polyhook/polyhook/store"
)

// errorSet collects FusionAuth validation errors: field errors keyed by the field's path,
// general errors without one. Codes are "[kind]field", as FusionAuth writes them.
type errorSet struct {
	fields  map[string][]api.Error
	general []api.Error
}

// field adds an error with code "[kind]path".
func (s *errorSet) field(path, kind, message string) {
	s.fieldCode(path, "["+kind+"]"+path, message)
}

// fieldCode adds an error with an explicit code under path.
func (s *errorSet) fieldCode(path, code, message string) {
	if s.fields == nil {
		s.fields = map[string][]api.Error{}
	}
	s.fields[path] = append(s.fields[path], api.Error{Code: code, Message: message})
}

// generalf adds a general error with code "[kind]".
func (s *errorSet) generalf(kind, format string, args ...any) {
	s.general = append(s.general, api.Error{Code: "[" + kind + "]", Message: fmt.Sprintf(format, args...)})
}

// err returns the collected errors as one error, or nil when there are none.
func (s *errorSet) err() error {
	if len(s.fields) == 0 && len(s.general) == 0 {
		return nil
	}
	var body api.Errors
	if len(s.fields) > 0 {
		body.FieldErrors = &s.fields
	}
	if len(s.general) > 0 {
		body.GeneralErrors = &s.general
	}
	return &requestError{body: body}
}

// requestError is a 400 with FusionAuth's Errors body.
type requestError struct{ body api.Errors }

func (e *requestError) Error() string { return "fusionauth: invalid request" }

// fieldError returns a request error with one field error.
func fieldError(path, kind, message string) error {
	var s errorSet
	s.field(path, kind, message)
	return s.err()
}

// generalError returns a request error with one general error.
func generalError(kind, message string) error {
	var s errorSet
	s.generalf(kind, "%s", message)
	return s.err()
}

// errorAnswer is how FusionAuth answers one kind of error: its status, and the kind of
// its one general error ("[kind]", with the error's message), or no body when kind is "".
type errorAnswer struct {
	status int
	kind   string
}

// errorTable is the dialect's error policy, by store error code; a code not in the table
// is an internal error. FusionAuth's own validation errors are requestErrors (400 with
// every field error), written as they are.
var errorTable = map[string]errorAnswer{
	store.EINVALID:      {http.StatusBadRequest, "invalid"},
	store.ECONFLICT:     {http.StatusBadRequest, "duplicate"},
	store.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "tooLarge"},
	store.ENOTFOUND:     {http.StatusNotFound, ""},
	store.EUNAUTHORIZED: {http.StatusUnauthorized, ""},
	store.ETHROTTLED:    {http.StatusTooManyRequests, ""},    // Retry-After is set
	store.EUNAVAILABLE:  {http.StatusServiceUnavailable, ""}, // Retry-After is set
	store.EINTERNAL:     {http.StatusInternalServerError, ""},
}

// render writes err as FusionAuth does: 400 (and 413) with an Errors body; 401, 404, 429,
// 500 and 503 with empty bodies and no content type.
func render(c echo.Context, err error) error {
	var re *requestError
	if errors.As(err, &re) {
		return c.JSON(http.StatusBadRequest, re.body)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch {
		case he.Code == http.StatusRequestEntityTooLarge, he.Code == http.StatusBadRequest:
			return c.JSON(http.StatusBadRequest, generalBody("invalid", fmt.Sprint(he.Message)))
		case he.Code == http.StatusMethodNotAllowed, he.Code == http.StatusNotFound, he.Code == http.StatusUnauthorized:
			return c.NoContent(he.Code)
		}
		return c.NoContent(http.StatusInternalServerError)
	}
	a, ok := errorTable[store.ErrorCode(err)]
	if !ok {
		a = errorTable[store.EINTERNAL]
	}
	if a.kind == "" {
		return c.NoContent(a.status)
	}
	return c.JSON(a.status, generalBody(a.kind, store.ErrorMessage(err)))
}

func generalBody(kind, message string) api.Errors {
	return api.Errors{GeneralErrors: &[]api.Error{{Code: "[" + kind + "]", Message: message}}}
}
