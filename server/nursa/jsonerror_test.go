package nursa

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// nodeMessages are what Node 20's JSON.parse (behind body-parser's strict mode) says, as
// printed by node itself.
var nodeMessages = []struct{ src, want string }{
	{`{"url":`, "Unexpected end of JSON input"},
	{`{"url":"https://ex`, "Unterminated string in JSON at position 18"},
	{`{`, "Expected property name or '}' in JSON at position 1"},
	{`{"a":1,`, "Expected double-quoted property name in JSON at position 7"},
	{`{"a"`, "Expected ':' after property name in JSON at position 4"},
	{`{"a":1,"b"`, "Unexpected end of JSON input"},
	{`{"a":1,"b" 1}`, "Unexpected number in JSON at position 11"},
	{`[1`, "Expected ',' or ']' after array element in JSON at position 2"},
	{`{"a":1`, "Expected ',' or '}' after property value in JSON at position 6"},
	{`{"a":1}x`, "Unexpected non-whitespace character after JSON at position 7"},
	{`{"a":tru}`, `Unexpected token '}', "{"a":tru}" is not valid JSON`},
	{`{"a":-}`, "No number after minus sign in JSON at position 6"},
	{`[1.]`, "Unterminated fractional number in JSON at position 3"},
	{`{"a":1.5e+}`, "Exponent part is missing a number in JSON at position 10"},
	{`{"a":01}`, "Unexpected number in JSON at position 6"},
	{"{\"a\":\"x\ny\"}", "Bad control character in string literal in JSON at position 7"},
	{`{"a":"\x"}`, "Bad escaped character in JSON at position 7"},
	{`{"a":"\u12`, "Bad Unicode escape in JSON at position 10"},
	{`{"a":1 , "b": [1,2,3], "c": x, "d": 12345678}`, `Unexpected token 'x', ...",3], "c": x, "d": 12"... is not valid JSON`},
	{`{"abcdefghijklm":[x]}`, `Unexpected token 'x', ..."ghijklm":[x]}" is not valid JSON`},
	{`{"😀😀😀😀😀😀😀😀":x}`, `Unexpected token 'x', ..."😀😀😀😀":x}" is not valid JSON`},
	{`[x, 1, 2, 3, 4, 5, 6, 7, 8, 9]`, `Unexpected token 'x', "[x, 1, 2, 3"... is not valid JSON`},
	// body-parser's strict mode refuses what is not an object or an array where it starts.
	{`nope`, `Unexpected token 'n', "nope" is not valid JSON`},
	{`"x"`, `Unexpected token '"', ""x"" is not valid JSON`},
	{`abcdefghijklmnopqrstuvwxyz`, `Unexpected token 'a', "abcdefghij"... is not valid JSON`},
}

func TestNodeJSONError(t *testing.T) {
	for _, tt := range nodeMessages {
		if got := nodeJSONError([]byte(tt.src)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.src, got, tt.want)
		}
	}
	for _, ok := range []string{`{}`, `[]`, ` {"a": [1, -2.5e+3, true, false, null, "\u00e9\n"]} `} {
		if got := nodeJSONError([]byte(ok)); got != "" {
			t.Errorf("%s is well-formed, got %q", ok, got)
		}
	}
}

// TestNodeJSONErrorMatchesNode asks the node on PATH (skipped without one) for the message
// of body-parser's strict check and JSON.parse on truncations and corruptions of a request
// body, and compares.
func TestNodeJSONErrorMatchesNode(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	const body = `{"url": "https://example.com/hook", "events": ["all", "facility.creation.accepted"], "secrets": ["s1"], "n": -1.5e3}`
	var corpus []string
	for i := 1; i < len(body); i++ {
		corpus = append(corpus, body[:i])                                     // truncated
		corpus = append(corpus, body[:i]+"x"+body[i:])                        // a stray character
		corpus = append(corpus, body[:i-1]+body[i:])                          // one character missing
		corpus = append(corpus, body[:i]+`"`+body[i:], body[:i]+"}"+body[i:]) // a stray quote or brace
	}
	// Deep nesting, which neither V8 nor the scanner here parses by recursion.
	corpus = append(corpus,
		strings.Repeat("[", 100_000),
		strings.Repeat("[", 100_000)+"x",
		strings.Repeat(`{"a":`, 50_000)+"1"+strings.Repeat("}", 49_999),
		strings.Repeat(`{"a":[`, 20_000)+"1"+strings.Repeat("]}", 20_000)+" x",
		strings.Repeat("[{}, ", 10_000)+"-"+strings.Repeat("]", 10_000),
		// a surrogate pair cut at either end of the quoted source
		`{"x😀😀😀😀😀😀😀😀":x,"😀😀😀😀😀😀😀😀":1}`, `{"😀😀😀😀😀😀😀😀":x}`)
	in, _ := json.Marshal(corpus)
	cmd := exec.Command("node", "-e", `
// body-parser's json parser in strict mode (its createStrictSyntaxError), then JSON.parse.
function strict(str, char) {
  const index = str.indexOf(char);
  const partial = index === -1 ? '' : str.substring(0, index) + '#'.repeat(str.length - index);
  try { JSON.parse(partial); } catch (e) { return e.message.replace(/#+/g, p => str.substring(index, index + p.length)); }
}
function parse(c) {
  const first = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d])/.exec(c);
  if (!first || (first[1] !== '{' && first[1] !== '[')) return strict(c, first && first[1]);
  try { JSON.parse(c); return ""; } catch (e) { return e.message; }
}
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(cases.map(parse)));`)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var want []string
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(corpus) {
		t.Fatalf("node answered %s: %v", out, err)
	}
	bad := 0
	for i, src := range corpus {
		if got := nodeJSONError([]byte(src)); got != want[i] {
			if bad++; bad <= 10 {
				t.Errorf("%.200s:\n got %s\nnode %s", src, got, want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d messages differ from node's", bad, len(corpus))
	}
}
