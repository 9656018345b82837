package servertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// MatchExample fails the test unless got has every field of a vendor's documented example
// answer, each with the same JSON type, and the same value except at the volatile paths,
// whose values the server chooses (ids, instants): there only the type must match. Paths
// are dotted, with "[]" for the elements of an array ("webhooks[].id"). Fields the example
// does not show may be extra.
func MatchExample(t testing.TB, example, got []byte, volatile ...string) {
	t.Helper()
	want, err := decodeExample(example)
	if err != nil {
		t.Fatalf("example: %v", err)
	}
	have, err := decodeExample(got)
	if err != nil {
		t.Fatalf("answer %s: %v", got, err)
	}
	for _, p := range matchExample("", want, have, volatile) {
		t.Errorf("answer differs from the documented example: %s\nanswer: %s", p, got)
	}
}

func decodeExample(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func matchExample(path string, want, have any, volatile []string) []string {
	name := path
	if name == "" {
		name = "(the body)"
	}
	if jsonType(want) != jsonType(have) {
		return []string{fmt.Sprintf("%s is %s %v, the example has %s %v", name, jsonType(have), have, jsonType(want), want)}
	}
	var problems []string
	switch w := want.(type) {
	case map[string]any:
		h := have.(map[string]any)
		for k, wv := range w {
			p := k
			if path != "" {
				p = path + "." + k
			}
			hv, ok := h[k]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s is missing", p))
				continue
			}
			problems = append(problems, matchExample(p, wv, hv, volatile)...)
		}
	case []any:
		h := have.([]any)
		if len(h) != len(w) {
			return []string{fmt.Sprintf("%s has %d elements, the example %d", name, len(h), len(w))}
		}
		for i := range w {
			problems = append(problems, matchExample(path+"[]", w[i], h[i], volatile)...)
		}
	default:
		if !slices.Contains(volatile, path) && want != have {
			problems = append(problems, fmt.Sprintf("%s is %v, the example has %v", name, have, want))
		}
	}
	slices.Sort(problems)
	return problems
}
