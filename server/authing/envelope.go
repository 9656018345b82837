package authing

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/store"
)

// apiCodes Polyhook answers with; 1300-1306 are Authing's own for signatures.
const (
	codeBadSignature     = 1300
	codeSignatureMethod  = 1301
	codeSignatureVersion = 1302
	codeDateFormat       = 1303
	codeMissingDate      = 1304
	codeClockSkew        = 1305
	codeReplayedNonce    = 1306
	codeInvalidArgument  = 4000
	codeUnauthorized     = 4010
	codeNotFound         = 4040
	codeTooLarge         = 4130
	codeThrottled        = 4290
	codeUnavailable      = 5030
)

// apiError is an Authing error: HTTP 200 with the real status in the body.
type apiError struct {
	status  int
	apiCode int
	message string
	// retryAfter is set on throttling, the one error answered with its real HTTP status.
	retryAfter int
}

func (e *apiError) Error() string {
	return fmt.Sprintf("authing: %d/%d %s", e.status, e.apiCode, e.message)
}

func invalid(format string, args ...any) error {
	return &apiError{status: 400, apiCode: codeInvalidArgument, message: fmt.Sprintf(format, args...)}
}

func unauthorized(code int, message string) error {
	return &apiError{status: 401, apiCode: code, message: message}
}

var errNotFound = &apiError{status: 404, apiCode: codeNotFound, message: "Webhook not found."}

// ok writes a success envelope, with the message and a requestId as the vendor's sample
// answer has them.
func ok(c echo.Context, data any) error {
	return c.JSON(http.StatusOK, map[string]any{
		"statusCode": 200, "message": "Operation successful", "requestId": uuid.NewString(), "data": data,
	})
}

// errorTable is the dialect's error policy: the status and apiCode of each store error
// code, and the message when it is not the error's own. A code not in the table is an
// internal error. Authing's own cases (signatures, tokens) are apiErrors, written as they
// are.
var errorTable = map[string]apiError{
	store.EINVALID:     {status: http.StatusBadRequest, apiCode: codeInvalidArgument},
	store.ENOTFOUND:    *errNotFound,
	store.ETOOLARGE:    {status: http.StatusRequestEntityTooLarge, apiCode: codeTooLarge},
	store.ETHROTTLED:   {status: http.StatusTooManyRequests, apiCode: codeThrottled},                                                        // Retry-After is set
	store.EUNAVAILABLE: {status: http.StatusServiceUnavailable, apiCode: codeUnavailable, message: "Service unavailable: try again later."}, // Retry-After is set
	store.EINTERNAL:    {status: http.StatusInternalServerError, apiCode: 5000, message: "Internal error."},
}

// answer is err's entry of the table; echo's own errors keep their status.
func answer(err error) apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return *ae
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return apiError{status: he.Code, apiCode: he.Code * 10, message: http.StatusText(he.Code)}
	}
	a, ok := errorTable[store.ErrorCode(err)]
	if !ok {
		return errorTable[store.EINTERNAL]
	}
	if a.message == "" {
		a.message = store.ErrorMessage(err)
	}
	return a
}

// render writes err as an Authing envelope: HTTP 200 (413, 429 and 503 with their real
// status) with statusCode, message, apiCode and requestId.
func render(c echo.Context, err error) error {
	ae := answer(err)
	httpStatus := http.StatusOK
	switch ae.status {
	case http.StatusTooManyRequests:
		httpStatus = ae.status
		if ae.retryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
		}
	case http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		// Like throttling, conditions of the transport rather than of the request's
		// meaning: answered with their real status, for clients and load balancers.
		httpStatus = ae.status
	}
	return c.JSON(httpStatus, map[string]any{
		"statusCode": ae.status, "message": ae.message, "apiCode": ae.apiCode, "requestId": uuid.NewString(),
	})
}
