package store

import (
	"errors"
	"fmt"
)

// Error codes. Every error the store returns carries one; the server turns each into a
// status and envelope of the calling dialect.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	// EUNAVAILABLE: the database cannot be reached or cannot keep what it is given (the
	// connection refused or timed out, the schema gone, the SQLite file removed or
	// replaced, the disk full). Answered 503 with Retry-After: it is worth trying again.
	EUNAVAILABLE = "unavailable"
	// ETOOLARGE: the request body is over the gateway's limit (413).
	ETOOLARGE = "too_large"
	// ETHROTTLED: too many failed logins from one address or for one credential (429).
	ETHROTTLED = "throttled"
	// EUNPROCESSABLE: well-formed but refused by a rule about its content, such as an
	// event's data against its type's schema (422).
	EUNPROCESSABLE = "unprocessable"
)

// Error is an error with a code and a message that is safe to show to API users.
type Error struct {
	Code    string
	Message string
	// Err is the underlying cause, kept for logs; it is never shown to users.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EINTERNAL for errors without one. A nil error has
// no code.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; errors without a code read
// "Internal error." so that nothing internal leaks.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "Internal error."
}
