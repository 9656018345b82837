package fusionauth

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The examples of RFC 6902 appendix A, and the library's negative indices.
func TestApplyJSONPatch_RFC6902(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ doc, patch, want string }{
		{`{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux"}]`, `{"baz":"qux","foo":"bar"}`},
		{`{"foo":["bar","baz"]}`, `[{"op":"add","path":"/foo/1","value":"qux"}]`, `{"foo":["bar","qux","baz"]}`},
		{`{"baz":"qux","foo":"bar"}`, `[{"op":"remove","path":"/baz"}]`, `{"foo":"bar"}`},
		{`{"foo":["bar","qux","baz"]}`, `[{"op":"remove","path":"/foo/1"}]`, `{"foo":["bar","baz"]}`},
		{`{"baz":"qux","foo":"bar"}`, `[{"op":"replace","path":"/baz","value":"boo"}]`, `{"baz":"boo","foo":"bar"}`},
		{`{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`, `[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`,
			`{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`},
		{`{"foo":["all","grass","cows","eat"]}`, `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`, `{"foo":["all","cows","eat","grass"]}`},
		{`{"baz":"qux","foo":["a",2,"c"]}`, `[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2.0}]`, `{"baz":"qux","foo":["a",2,"c"]}`},
		{`{"baz":"qux"}`, `[{"op":"test","path":"/baz","value":"bar"}]`, "error"},
		{`{"foo":"bar"}`, `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`, `{"child":{"grandchild":{}},"foo":"bar"}`},
		{`{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux","xyz":123}]`, `{"baz":"qux","foo":"bar"}`},
		{`{"foo":"bar"}`, `[{"op":"add","path":"/baz/bat","value":"qux"}]`, "error"},
		{`{"/":9,"~1":10}`, `[{"op":"test","path":"/~01","value":10}]`, `{"/":9,"~1":10}`},
		{`{"/":9,"~1":10}`, `[{"op":"test","path":"/~01","value":"10"}]`, "error"},
		{`{"foo":["bar"]}`, `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`, `{"foo":["bar",["abc","def"]]}`},
		// beyond the appendix
		{`{"a":[1,2,3]}`, `[{"op":"remove","path":"/a/-1"},{"op":"add","path":"/a/-1","value":9}]`, `{"a":[1,2,9]}`},
		{`{"a":[1]}`, `[{"op":"add","path":"/a/2","value":9}]`, "error"},
		{`{"a":[1]}`, `[{"op":"remove","path":"/a/01"}]`, "error"},
		{`{"a":{"b":1}}`, `[{"op":"move","from":"/a","path":"/a/c"}]`, "error"},
		{`{"a":{"b":1}}`, `[{"op":"copy","from":"/a","path":"/c"},{"op":"replace","path":"/c/b","value":2}]`, `{"a":{"b":1},"c":{"b":2}}`},
		{`{"a":1}`, `[{"op":"replace","path":"","value":{"b":2}}]`, `{"b":2}`},
		{`{"a":1}`, `[{"op":"remove","path":""}]`, "error"},
		{`{"a":1}`, `[{"op":"replace","path":"/b","value":2}]`, "error"},
		{`{"a":1}`, `[{"op":"add","path":"/b"}]`, "error"},
		{`{"a":1}`, `[{"op":"frobnicate","path":"/a"}]`, "error"},
		{`{"a":1}`, `[{"op":"add","path":"a","value":2}]`, "error"},
		{`{"a":1}`, `[{"op":"add","path":"/~2","value":2}]`, "error"},
		{`{"a":1}`, `[1]`, "error"},
	} {
		var doc any
		var ops []any
		if err := decodeJSON([]byte(tt.doc), &doc); err != nil {
			t.Fatal(err)
		}
		if err := decodeJSON([]byte(tt.patch), &ops); err != nil {
			t.Fatal(err)
		}
		out, err := applyJSONPatch(doc, ops, 1<<20)
		got := "error"
		if err == nil {
			b, _ := json.Marshal(out)
			got = string(b)
		}
		if got != tt.want {
			t.Errorf("%s on %s: got %s (%v), want %s", tt.patch, tt.doc, got, err, tt.want)
		}
	}
}

// A megabyte of operations fits the work budget (16 units a byte, so linear in the patch)
// when it adds and removes members of one object, and does not when it inserts again and
// again at the head of a long array. The times are logged; costs_test.go asserts the CPU
// a patch costs on a running gateway.
func TestApplyJSONPatch_Linear(t *testing.T) {
	t.Parallel()
	build := func(op func(i int) string) []byte {
		var b strings.Builder
		b.WriteString("[")
		for i := 0; b.Len() < 1<<20-100; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(op(i))
		}
		return []byte(b.String() + "]")
	}
	long := `[` + strings.Repeat(`0,`, 200_000) + `0]`
	for _, tt := range []struct {
		name    string
		patch   []byte
		refused bool
	}{
		{"adds", build(func(i int) string { return fmt.Sprintf(`{"op":"add","path":"/k%d","value":1}`, i) }), false},
		{"adds then removes", build(func(i int) string {
			if i >= 13000 && i < 26000 {
				return fmt.Sprintf(`{"op":"remove","path":"/k%d"}`, i-13000)
			}
			return fmt.Sprintf(`{"op":"add","path":"/k%d","value":1}`, i)
		}), false},
		{"inserts at the head of a long array", build(func(i int) string {
			if i == 0 {
				return `{"op":"add","path":"/a","value":` + long + `}`
			}
			return `{"op":"add","path":"/a/0","value":1}`
		}), true},
	} {
		var doc any
		var ops []any
		_ = decodeJSON([]byte(`{"webhook":{}}`), &doc)
		if err := decodeJSON(tt.patch, &ops); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := applyJSONPatch(doc, ops, jsonPatchWork*len(tt.patch))
		took := time.Since(start)
		t.Logf("%s: %d operations in %v: %v", tt.name, len(ops), took, err)
		if (err != nil) != tt.refused {
			t.Errorf("%s: %v, want refused %v", tt.name, err, tt.refused)
		}
	}
}
