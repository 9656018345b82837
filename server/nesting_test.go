package server

import (
	"strings"
	"testing"
)

func TestNesting(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		body string
		want int
	}{
		{``, 0},
		{`1`, 0},
		{`{}`, 1},
		{`{"a":[1,{"b":[]}]}`, 4},
		{`{"a":"[[[[{{{{"}`, 1},     // brackets inside strings do not count
		{`{"a":"\"[[[","b":[]}`, 2}, // nor after an escaped quote
		{`{"a":"\\","b":[[]]}`, 3},  // an escaped backslash ends the escape
		{`]]]][[`, 0},               // malformed: left to the decoder
		{strings.Repeat("[", 5000), MaxNesting + 1}, // counting stops past the limit
	} {
		if got := Nesting([]byte(tt.body), MaxNesting); got != tt.want {
			t.Errorf("Nesting(%.40q) = %d, want %d", tt.body, got, tt.want)
		}
	}
}
