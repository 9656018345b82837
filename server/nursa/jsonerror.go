package nursa

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// nodeJSONError returns the message a NestJS server (Express's body-parser in strict mode,
// then V8's JSON.parse, as in Node 20) gives for the malformed JSON body src, or "" when
// src is well-formed. Positions count UTF-16 code units, as JavaScript's do.
func nodeJSONError(src []byte) string {
	p := &jsonScan{src: src}
	p.skipSpace()
	// body-parser's strict mode takes only an object or an array, and reports anything
	// else as an unexpected token where it starts.
	if p.i < len(src) && src[p.i] != '{' && src[p.i] != '[' {
		return p.unexpectedToken()
	}
	if msg := p.value(); msg != "" {
		return msg
	}
	p.skipSpace()
	if p.i < len(src) {
		return fmt.Sprintf("Unexpected non-whitespace character after JSON at position %d", p.pos(p.i))
	}
	return ""
}

type jsonScan struct {
	src []byte
	i   int
}

const unexpectedEnd = "Unexpected end of JSON input"

func (p *jsonScan) skipSpace() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// pos is the UTF-16 offset of byte offset i.
func (p *jsonScan) pos(i int) int {
	n := 0
	for _, r := range string(p.src[:i]) {
		n += utf16.RuneLen(r)
	}
	return n
}

func (p *jsonScan) at(message string) string {
	return fmt.Sprintf("%s in JSON at position %d", message, p.pos(p.i))
}

// unexpected is V8's message for a token that does not belong at p.i.
func (p *jsonScan) unexpected() string {
	if p.i >= len(p.src) {
		return unexpectedEnd
	}
	switch c := p.src[p.i]; {
	case c == '"':
		return p.at("Unexpected string")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.at("Unexpected number")
	}
	return p.unexpectedToken()
}

// unexpectedToken is "Unexpected token 'c', "<source>" is not valid JSON", with the source
// cut to 10 characters either side of the token when it is longer than 20.
func (p *jsonScan) unexpectedToken() string {
	r, _ := utf8.DecodeRune(p.src[p.i:])
	units := utf16.Encode([]rune(string(p.src)))
	pos, n := p.pos(p.i), len(units)
	const context = 10
	if n <= 2*context {
		return fmt.Sprintf("Unexpected token '%c', \"%s\" is not valid JSON", r, string(utf16.Decode(units)))
	}
	switch {
	case pos < context:
		return fmt.Sprintf("Unexpected token '%c', \"%s\"... is not valid JSON", r, string(utf16.Decode(units[:pos+context])))
	case pos < n-context:
		return fmt.Sprintf("Unexpected token '%c', ...\"%s\"... is not valid JSON", r, string(utf16.Decode(units[pos-context:pos+context])))
	}
	return fmt.Sprintf("Unexpected token '%c', ...\"%s\" is not valid JSON", r, string(utf16.Decode(units[pos-context:])))
}

func (p *jsonScan) value() string {
	p.skipSpace()
	if p.i >= len(p.src) {
		return unexpectedEnd
	}
	switch c := p.src[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return p.unexpected()
}

func (p *jsonScan) object() string {
	p.i++ // {
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == '}' {
		p.i++
		return ""
	}
	for first := true; ; first = false {
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != '"' {
			if first {
				return p.at("Expected property name or '}'")
			}
			return p.at("Expected double-quoted property name")
		}
		if msg := p.str(); msg != "" {
			return msg
		}
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != ':' {
			if first {
				return p.at("Expected ':' after property name")
			}
			return p.unexpected()
		}
		p.i++
		if msg := p.value(); msg != "" {
			return msg
		}
		p.skipSpace()
		if p.i < len(p.src) && p.src[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.src) && p.src[p.i] == '}' {
			p.i++
			return ""
		}
		return p.at("Expected ',' or '}' after property value")
	}
}

func (p *jsonScan) array() string {
	p.i++ // [
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == ']' {
		p.i++
		return ""
	}
	for {
		if msg := p.value(); msg != "" {
			return msg
		}
		p.skipSpace()
		if p.i < len(p.src) && p.src[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.src) && p.src[p.i] == ']' {
			p.i++
			return ""
		}
		return p.at("Expected ',' or ']' after array element")
	}
}

func (p *jsonScan) str() string {
	p.i++ // "
	for p.i < len(p.src) {
		switch c := p.src[p.i]; {
		case c == '"':
			p.i++
			return ""
		case c < 0x20:
			return p.at("Bad control character in string literal")
		case c == '\\':
			p.i++
			if p.i >= len(p.src) {
				return unexpectedEnd
			}
			switch p.src[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				p.i++
				for k := 0; k < 4; k++ {
					if p.i >= len(p.src) || !isHex(p.src[p.i]) {
						return p.at("Bad Unicode escape")
					}
					p.i++
				}
			default:
				return p.at("Bad escaped character")
			}
		default:
			p.i++
		}
	}
	return p.at("Unterminated string")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (p *jsonScan) digits() int {
	start := p.i
	for p.i < len(p.src) && p.src[p.i] >= '0' && p.src[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}

func (p *jsonScan) number() string {
	if p.src[p.i] == '-' {
		p.i++
		if p.i >= len(p.src) || p.src[p.i] < '0' || p.src[p.i] > '9' {
			return p.at("No number after minus sign")
		}
	}
	if p.src[p.i] == '0' {
		p.i++
		if p.i < len(p.src) && p.src[p.i] >= '0' && p.src[p.i] <= '9' {
			return p.at("Unexpected number")
		}
	} else {
		p.digits()
	}
	if p.i < len(p.src) && p.src[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return p.at("Unterminated fractional number")
		}
	}
	if p.i < len(p.src) && (p.src[p.i] == 'e' || p.src[p.i] == 'E') {
		p.i++
		if p.i < len(p.src) && (p.src[p.i] == '+' || p.src[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return p.at("Exponent part is missing a number")
		}
	}
	return ""
}

func (p *jsonScan) literal(word string) string {
	for k := 0; k < len(word); k++ {
		if p.i >= len(p.src) {
			return unexpectedEnd
		}
		if p.src[p.i] != word[k] {
			return p.unexpected()
		}
		p.i++
	}
	return ""
}
