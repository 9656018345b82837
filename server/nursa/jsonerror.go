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
	pos, n := p.pos(p.i), p.pos(len(p.src))
	const context = 10
	if n <= 2*context {
		return fmt.Sprintf("Unexpected token '%c', \"%s\" is not valid JSON", r, p.units(0, n))
	}
	switch {
	case pos < context:
		return fmt.Sprintf("Unexpected token '%c', \"%s\"... is not valid JSON", r, p.units(0, pos+context))
	case pos < n-context:
		return fmt.Sprintf("Unexpected token '%c', ...\"%s\"... is not valid JSON", r, p.units(pos-context, pos+context))
	}
	return fmt.Sprintf("Unexpected token '%c', ...\"%s\" is not valid JSON", r, p.units(pos-context, n))
}

// units is the source's UTF-16 code units from lo to hi as a string, a surrogate cut in
// half at either end becoming U+FFFD as in JavaScript. Only the units kept are copied.
func (p *jsonScan) units(lo, hi int) string {
	var kept []uint16
	u := 0
	for _, r := range string(p.src) {
		if u >= hi {
			break
		}
		var pair [2]uint16
		k := utf16.RuneLen(r)
		if k == 2 {
			r1, r2 := utf16.EncodeRune(r)
			pair[0], pair[1] = uint16(r1), uint16(r2)
		} else {
			pair[0] = uint16(r)
		}
		for j := 0; j < k; j++ {
			if u+j >= lo && u+j < hi {
				kept = append(kept, pair[j])
			}
		}
		u += k
	}
	return string(utf16.Decode(kept))
}

// nesting is a stack of the containers the scan is inside, a bit each: set for an object.
type nesting struct {
	bits  []uint64
	depth int
}

func (n *nesting) push(object bool) {
	if n.depth/64 == len(n.bits) {
		n.bits = append(n.bits, 0)
	}
	if object {
		n.bits[n.depth/64] |= 1 << (n.depth % 64)
	} else {
		n.bits[n.depth/64] &^= 1 << (n.depth % 64)
	}
	n.depth++
}

func (n *nesting) inObject() bool { return n.bits[(n.depth-1)/64]&(1<<((n.depth-1)%64)) != 0 }

// value scans one JSON value. The containers it is inside are kept on a stack of bits
// rather than by recursion, so that deep nesting costs a bit a level and no goroutine
// stack: V8's parser is not recursive either, and answers a megabyte of "[" with
// "Unexpected end of JSON input" as this does.
func (p *jsonScan) value() string {
	var open nesting
	for {
		// A value starts here.
		p.skipSpace()
		if p.i >= len(p.src) {
			return unexpectedEnd
		}
		msg, nested := "", false
		switch c := p.src[p.i]; {
		case c == '{' || c == '[':
			closing := byte('}')
			if c == '[' {
				closing = ']'
			}
			p.i++
			p.skipSpace()
			if p.i < len(p.src) && p.src[p.i] == closing {
				p.i++
				break
			}
			if c == '{' {
				msg = p.member(true)
			}
			open.push(c == '{')
			nested = true
		case c == '"':
			msg = p.str()
		case c == '-' || (c >= '0' && c <= '9'):
			msg = p.number()
		case c == 't':
			msg = p.literal("true")
		case c == 'f':
			msg = p.literal("false")
		case c == 'n':
			msg = p.literal("null")
		default:
			return p.unexpected()
		}
		if msg != "" {
			return msg
		}
		if nested {
			continue
		}
		// A value has ended: close the containers it ends, up to one that goes on.
		for {
			if open.depth == 0 {
				return ""
			}
			inObject := open.inObject()
			p.skipSpace()
			if p.i < len(p.src) && p.src[p.i] == ',' {
				p.i++
				if inObject {
					if msg := p.member(false); msg != "" {
						return msg
					}
				}
				break
			}
			if p.i < len(p.src) && (inObject && p.src[p.i] == '}' || !inObject && p.src[p.i] == ']') {
				p.i++
				open.depth--
				continue
			}
			if inObject {
				return p.at("Expected ',' or '}' after property value")
			}
			return p.at("Expected ',' or ']' after array element")
		}
	}
}

// member scans an object's property name and the colon after it; first says whether it
// is the object's first.
func (p *jsonScan) member(first bool) string {
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
	return ""
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
