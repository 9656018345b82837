// Package filter compiles a subscription's payload filter and matches events against it.
//
// A filter is a JSON object in the style of Outpost's and MongoDB's: each key is a dotted
// path into the event (its "type", "tenant", "occurredAt" or "data", e.g.
// "data.order.total") or one of the logical operators $and, $or (arrays of filters) and $not
// (a filter). A path's value is either an object of operators ($eq $neq $gt $gte $lt $lte
// $in $nin $exists $startsWith) or a bare value, which means $eq. Every key of an object must
// hold for it to match.
//
// A filter is compiled once (Compile) and then matched against many events: matching
// walks the compiled tree and the event's decoded document, and parses nothing.
package filter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of a filter.
const (
	// MaxBytes bounds a filter's JSON.
	MaxBytes = 4096
	// MaxDepth bounds how deeply a filter's objects and arrays nest.
	MaxDepth = 8
)

// roots are the event fields a path can start with.
var roots = []string{"type", "tenant", "occurredAt", "data"}

// Error is an invalid filter: Path says where ("filter.data.total.$gt").
type Error struct {
	Path    string
	Message string
}

func (e *Error) Error() string { return e.Path + ": " + e.Message }

// Filter is a compiled filter. The zero Filter (and nil) matches every event.
type Filter struct {
	root node
}

// node is one compiled condition.
type node interface {
	match(doc map[string]any) bool
}

// Compile checks and compiles raw. An empty raw, JSON null or {} compile to nil, which
// matches everything.
func Compile(raw []byte) (*Filter, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > MaxBytes {
		return nil, &Error{"filter", fmt.Sprintf("is larger than %d bytes", MaxBytes)}
	}
	if err := checkDepth(raw); err != nil {
		return nil, err
	}
	v, err := decode(raw)
	if err != nil {
		return nil, &Error{"filter", "must be a JSON object"}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{"filter", "must be a JSON object"}
	}
	if len(obj) == 0 {
		return nil, nil
	}
	n, err := compileObject("filter", obj)
	if err != nil {
		return nil, err
	}
	return &Filter{root: n}, nil
}

// checkDepth refuses raw when its objects and arrays nest deeper than MaxDepth, before it
// is decoded.
func checkDepth(raw []byte) error {
	depth, inString, escaped := 0, false, false
	for _, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > MaxDepth {
				return &Error{"filter", fmt.Sprintf("nests deeper than %d levels", MaxDepth)}
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// decode reads JSON with numbers kept as json.Number, so that numbers compare exactly as
// written where they can.
func decode(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

// Match reports whether the event matches f. Build the event with Document, once for all
// the filters it is matched against.
func (f *Filter) Match(doc map[string]any) bool {
	if f == nil || f.root == nil {
		return true
	}
	return f.root.match(doc)
}

// Document is an event as filters see it. data must be a JSON object (or empty);
// occurredAt is in UTC to the second ("2026-12-06T12:00:00Z"), so that it compares as a
// time with strings written alike.
func Document(eventType, tenant string, occurredAt time.Time, data []byte) map[string]any {
	doc := map[string]any{"type": eventType, "tenant": tenant, "occurredAt": occurredAt.UTC().Format(time.RFC3339)}
	if len(data) > 0 {
		if v, err := decode(data); err == nil {
			doc["data"] = v
		}
	}
	return doc
}

// and matches when all its nodes do.
type and []node

func (a and) match(doc map[string]any) bool {
	for _, n := range a {
		if !n.match(doc) {
			return false
		}
	}
	return true
}

// or matches when any of its nodes does.
type or []node

func (o or) match(doc map[string]any) bool {
	for _, n := range o {
		if n.match(doc) {
			return true
		}
	}
	return false
}

type not struct{ n node }

func (n not) match(doc map[string]any) bool { return !n.n.match(doc) }

// field applies one operator to the value at a path.
type field struct {
	path []string
	op   string
	arg  any
}

func (f field) match(doc map[string]any) bool {
	v, ok := lookup(doc, f.path)
	switch f.op {
	case "$exists":
		return ok == f.arg.(bool)
	case "$eq":
		return ok && equal(v, f.arg)
	case "$neq":
		return !ok || !equal(v, f.arg)
	case "$in":
		return ok && in(v, f.arg.([]any))
	case "$nin":
		return !ok || !in(v, f.arg.([]any))
	case "$startsWith":
		s, isString := v.(string)
		return ok && isString && strings.HasPrefix(s, f.arg.(string))
	}
	if !ok {
		return false
	}
	c, comparable := compare(v, f.arg)
	if !comparable {
		return false
	}
	switch f.op {
	case "$gt":
		return c > 0
	case "$gte":
		return c >= 0
	case "$lt":
		return c < 0
	default: // $lte
		return c <= 0
	}
}

// lookup returns the value at path in doc; a numeric segment indexes an array.
func lookup(doc map[string]any, path []string) (any, bool) {
	var v any = doc
	for _, seg := range path {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// in reports whether v equals one of list's values or, when v is an array, whether one of
// its elements does.
func in(v any, list []any) bool {
	for _, x := range list {
		if equal(v, x) {
			return true
		}
	}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			for _, x := range list {
				if equal(e, x) {
					return true
				}
			}
		}
	}
	return false
}

// equal compares JSON values: numbers by value, never a number with a string.
func equal(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		c, _ := compare(x, y)
		return c == 0
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, equal)
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && maps.EqualFunc(x, y, equal)
	default:
		return a == b
	}
}

// compare orders two numbers or two strings; ok is false for any other pair.
func compare(a, b any) (c int, ok bool) {
	switch x := a.(type) {
	case json.Number:
		y, isNumber := b.(json.Number)
		if !isNumber {
			return 0, false
		}
		if x == y {
			return 0, true
		}
		// As integers where both are (the common case, without allocating).
		if i, err := x.Int64(); err == nil {
			if j, err := y.Int64(); err == nil {
				return cmpOrdered(i, j), true
			}
		}
		// Rounding to float64 keeps order, so floats that differ decide; equal ones may
		// stand for different numbers and are compared exactly.
		if f, err := x.Float64(); err == nil {
			if g, err := y.Float64(); err == nil && f != g {
				if f < g {
					return -1, true
				}
				return 1, true
			}
		}
		f, ok1 := new(big.Rat).SetString(string(x))
		g, ok2 := new(big.Rat).SetString(string(y))
		if !ok1 || !ok2 {
			return 0, false
		}
		return f.Cmp(g), true
	case string:
		y, isString := b.(string)
		if !isString {
			return 0, false
		}
		return strings.Compare(x, y), true
	}
	return 0, false
}

func cmpOrdered(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compileObject compiles a filter object: every key must hold.
func compileObject(at string, obj map[string]any) (node, error) {
	var all and
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		here := at + "." + k
		switch k {
		case "$and", "$or":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return nil, &Error{here, "must be a non-empty array of filters"}
			}
			nodes := make([]node, 0, len(list))
			for i, e := range list {
				o, ok := e.(map[string]any)
				if !ok {
					return nil, &Error{fmt.Sprintf("%s[%d]", here, i), "must be a filter object"}
				}
				n, err := compileObject(fmt.Sprintf("%s[%d]", here, i), o)
				if err != nil {
					return nil, err
				}
				nodes = append(nodes, n)
			}
			if k == "$and" {
				all = append(all, and(nodes))
			} else {
				all = append(all, or(nodes))
			}
		case "$not":
			o, ok := v.(map[string]any)
			if !ok {
				return nil, &Error{here, "must be a filter object"}
			}
			n, err := compileObject(here, o)
			if err != nil {
				return nil, err
			}
			all = append(all, not{n})
		default:
			if strings.HasPrefix(k, "$") {
				return nil, &Error{here, "unknown operator; logical operators are $and, $or and $not"}
			}
			path := strings.Split(k, ".")
			if !slices.Contains(roots, path[0]) || slices.Contains(path, "") {
				return nil, &Error{here, "a path starts with type, tenant, occurredAt or data (e.g. data.order.total)"}
			}
			nodes, err := compileField(here, path, v)
			if err != nil {
				return nil, err
			}
			all = append(all, nodes...)
		}
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return all, nil
}

// compileField compiles a path's condition: an object of operators, or a bare value ($eq).
func compileField(at string, path []string, v any) ([]node, error) {
	ops, ok := v.(map[string]any)
	if !ok || len(ops) == 0 || !strings.HasPrefix(slices.Min(slices.Collect(maps.Keys(ops))), "$") {
		return []node{field{path, "$eq", v}}, nil
	}
	var nodes []node
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		arg := ops[op]
		here := at + "." + op
		switch op {
		case "$eq", "$neq":
		case "$gt", "$gte", "$lt", "$lte":
			switch arg.(type) {
			case json.Number, string:
			default:
				return nil, &Error{here, "must be a number or a string"}
			}
		case "$in", "$nin":
			if _, ok := arg.([]any); !ok {
				return nil, &Error{here, "must be an array"}
			}
		case "$exists":
			if _, ok := arg.(bool); !ok {
				return nil, &Error{here, "must be true or false"}
			}
		case "$startsWith":
			if _, ok := arg.(string); !ok {
				return nil, &Error{here, "must be a string"}
			}
		default:
			if strings.HasPrefix(op, "$") {
				return nil, &Error{here, "unknown operator; use $eq $neq $gt $gte $lt $lte $in $nin $exists $startsWith"}
			}
			return nil, &Error{here, "operators and fields cannot be mixed in one object"}
		}
		nodes = append(nodes, field{path, op, arg})
	}
	return nodes, nil
}
