package fusionauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// applyJSONPatch applies the RFC 6902 patch ops to doc (both as decodeJSON decodes them)
// and returns the patched document. Objects are Go maps, so adding, replacing or removing a
// member costs the same whatever their size. Arrays are slices: an insertion or removal
// inside one shifts what follows, and copies and tests walk their values, so every
// operation is charged its work against a budget proportional to the patch's size; a patch
// past it is refused. (The json-patch library searched each object's keys in a slice on
// every operation: quadratic in the keys, seconds of CPU for a megabyte of "add".)
// Negative array indices count from the end, as the library allowed.
func applyJSONPatch(doc any, ops []any, budget int) (any, error) {
	p := &patcher{budget: budget}
	root := &array{items: []any{p.wrap(doc)}} // the document is the root's element 0
	for i, raw := range ops {
		op, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("operation %d is not an object", i)
		}
		if err := p.apply(root, op); err != nil {
			return nil, fmt.Errorf("operation %d: %w", i, err)
		}
		if p.budget < 0 {
			return nil, errors.New("the patch takes more work than its size allows")
		}
	}
	return unwrap(root.items[0]), nil
}

// array is a JSON array the patch may grow or shrink in place.
type array struct{ items []any }

type patcher struct{ budget int }

// wrap turns the slices of v into *array, and charges one unit a value.
func (p *patcher) wrap(v any) any {
	p.budget--
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = p.wrap(e)
		}
	case []any:
		for i, e := range v {
			v[i] = p.wrap(e)
		}
		return &array{items: v}
	}
	return v
}

func unwrap(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = unwrap(e)
		}
	case *array:
		for i, e := range v.items {
			v.items[i] = unwrap(e)
		}
		return v.items
	}
	return v
}

// clone deep-copies v, one unit of budget a value.
func (p *patcher) clone(v any) any {
	p.budget--
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = p.clone(e)
		}
		return out
	case *array:
		out := &array{items: make([]any, len(v.items))}
		for i, e := range v.items {
			out.items[i] = p.clone(e)
		}
		return out
	}
	return v
}

func (p *patcher) apply(root *array, op map[string]any) error {
	p.budget--
	name, _ := op["op"].(string)
	path, err := pointer(op, "path")
	if err != nil {
		return err
	}
	value, hasValue := op["value"]
	switch name {
	case "add", "replace", "test":
		if !hasValue {
			return fmt.Errorf("%s needs a value", name)
		}
	case "move", "copy":
		from, err := pointer(op, "from")
		if err != nil {
			return err
		}
		if name == "move" && len(from) < len(path) && reflect.DeepEqual(from, path[:len(from)]) {
			return errors.New("a value cannot be moved into itself")
		}
		if value, err = p.remove(root, from, name == "copy"); err != nil {
			return err
		}
		if name == "copy" {
			value = p.clone(value)
		}
		return p.add(root, path, value, false)
	case "remove":
		_, err := p.remove(root, path, false)
		return err
	default:
		return fmt.Errorf("unknown op %q", name)
	}
	switch name {
	case "add":
		return p.add(root, path, p.wrap(value), false)
	case "replace":
		return p.add(root, path, p.wrap(value), true)
	}
	have, err := p.remove(root, path, true)
	if err != nil {
		return err
	}
	if !p.equal(have, p.wrap(value)) {
		return errors.New("test failed: the value differs")
	}
	return nil
}

// pointer reads op's member name as an RFC 6901 JSON pointer, as reference tokens after
// the root's own "0".
func pointer(op map[string]any, name string) ([]string, error) {
	s, ok := op[name].(string)
	if !ok {
		return nil, fmt.Errorf("%s must be a string", name)
	}
	if s == "" {
		return []string{"0"}, nil
	}
	if s[0] != '/' {
		return nil, fmt.Errorf("%s %q does not start with /", name, s)
	}
	tokens := strings.Split("0"+s, "/")
	for i, t := range tokens {
		if !strings.Contains(t, "~") {
			continue
		}
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("%s %q has a ~ that is not ~0 or ~1", name, s)
			}
		}
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

// parent walks to the container of the pointer's last token.
func parent(root *array, path []string) (any, error) {
	var cur any = root
	for _, t := range path[:len(path)-1] {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[t]
			if !ok {
				return nil, fmt.Errorf("no member %q", t)
			}
			cur = v
		case *array:
			i, err := index(t, len(c.items), false)
			if err != nil {
				return nil, err
			}
			cur = c.items[i]
		default:
			return nil, fmt.Errorf("%q is inside a value that is not an object or an array", t)
		}
	}
	return cur, nil
}

// index reads an array index below n, or up to n when insert; negative ones count from
// the end.
func index(t string, n int, insert bool) (int, error) {
	if insert && t == "-" {
		return n, nil
	}
	i, err := strconv.Atoi(t)
	if err != nil || (len(t) > 1 && (t[0] == '0' || t[0] == '+' || strings.HasPrefix(t, "-0"))) {
		return 0, fmt.Errorf("%q is not an array index", t)
	}
	size := n
	if insert {
		size++
	}
	if i < 0 {
		i += size
	}
	if i < 0 || i >= size {
		return 0, fmt.Errorf("index %s is out of range", t)
	}
	return i, nil
}

// add puts v at path: a member set, or an element inserted (replace: replaced, and the
// target must exist).
func (p *patcher) add(root *array, path []string, v any, replace bool) error {
	c, err := parent(root, path)
	if err != nil {
		return err
	}
	last := path[len(path)-1]
	switch c := c.(type) {
	case map[string]any:
		if _, ok := c[last]; replace && !ok {
			return fmt.Errorf("no member %q to replace", last)
		}
		c[last] = v
	case *array:
		if c == root {
			c.items[0] = v
			return nil
		}
		i, err := index(last, len(c.items), !replace)
		if err != nil {
			return err
		}
		if replace {
			c.items[i] = v
			return nil
		}
		c.items = append(c.items, nil)
		p.budget -= copy(c.items[i+1:], c.items[i:])
		c.items[i] = v
	default:
		return fmt.Errorf("%q is inside a value that is not an object or an array", last)
	}
	return nil
}

// remove takes the value at path out (keep: only reads it) and returns it.
func (p *patcher) remove(root *array, path []string, keep bool) (any, error) {
	c, err := parent(root, path)
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch c := c.(type) {
	case map[string]any:
		v, ok := c[last]
		if !ok {
			return nil, fmt.Errorf("no member %q", last)
		}
		if !keep {
			delete(c, last)
		}
		return v, nil
	case *array:
		if c == root {
			if !keep {
				return nil, errors.New("the whole document cannot be removed")
			}
			return c.items[0], nil
		}
		i, err := index(last, len(c.items), false)
		if err != nil {
			return nil, err
		}
		v := c.items[i]
		if !keep {
			p.budget -= copy(c.items[i:], c.items[i+1:])
			c.items[len(c.items)-1] = nil
			c.items = c.items[:len(c.items)-1]
		}
		return v, nil
	}
	return nil, fmt.Errorf("%q is inside a value that is not an object or an array", last)
}

// equal compares two values as JSON (numbers by value), one unit of budget a value.
func (p *patcher) equal(a, b any) bool {
	p.budget--
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, e := range a {
			f, ok := b[k]
			if !ok || !p.equal(e, f) {
				return false
			}
		}
		return true
	case *array:
		b, ok := b.(*array)
		if !ok || len(a.items) != len(b.items) {
			return false
		}
		for i := range a.items {
			if !p.equal(a.items[i], b.items[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		x, errA := strconv.ParseFloat(string(a), 64)
		y, errB := strconv.ParseFloat(string(b), 64)
		return a == b || (errA == nil && errB == nil && x == y)
	}
	return a == b
}
