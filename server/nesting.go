package server

import (
	"bytes"
	"io"

	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/store"
)

// MaxNesting is how deeply a JSON body may nest where the gateway sets the limit itself:
// Jackson's default (StreamReadConstraints), so whatever is accepted can be read by a
// receiver that parses with Jackson's defaults. encoding/json alone takes 10,000 levels,
// each a frame of its recursive decoder and encoder: megabytes of stack per request.
const MaxNesting = 1000

// Nesting is how deeply the arrays and objects of body nest, counted up to limit+1, in one
// pass that skips strings. Malformed JSON is left to its decoder to describe.
func Nesting(body []byte, limit int) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case inString && c == '\\':
			i++
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > deepest {
				if deepest = depth; deepest > limit {
					return deepest
				}
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// LimitNesting refuses, as an EINVALID error, a request body that nests deeper than
// MaxNesting, before any handler decodes it.
func LimitNesting(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		body, err := ReadBody(c)
		if err != nil {
			return err
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		if Nesting(body, MaxNesting) > MaxNesting {
			return store.Errorf(store.EINVALID, "The JSON body nests deeper than %d levels.", MaxNesting)
		}
		return next(c)
	}
}
