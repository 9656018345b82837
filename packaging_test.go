package main

import (
	"io"
	"os"
	"regexp"
	"sort"
	"testing"

	"github.com/alecthomas/kong"
)

// readVariables is every environment variable some command of the binary reads.
func readVariables(t *testing.T) map[string]bool {
	t.Helper()
	var c cli
	parser, err := newParser(&c, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			for _, e := range f.Tag.Envs {
				vars[e] = true
			}
		}
		for _, ch := range n.Children {
			walk(ch)
		}
	}
	walk(parser.Model.Node)
	return vars
}

// testOnly are the variables the tests read (to rewrite their golden files); the README
// names them for developers, and the binary has no use for them.
var testOnly = map[string]bool{"POLYHOOK_UPDATE_GOLDEN": true, "POLYHOOK_UPDATE_DOCS": true}

// Every POLYHOOK_* variable the deployment files and the README set is one the binary
// reads: a misspelt one would be ignored in production without a word.
func TestDeploymentVariablesAreRead(t *testing.T) {
	read := readVariables(t)
	name := regexp.MustCompile(`POLYHOOK_[A-Z0-9_]+`)
	for _, file := range []string{"Dockerfile", "compose.yaml", "README.md", "docs/configuration.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, v := range name.FindAllString(string(b), -1) {
			seen[v] = true
		}
		if len(seen) == 0 {
			t.Errorf("%s sets no POLYHOOK_ variable", file)
		}
		var unknown []string
		for v := range seen {
			if !read[v] && !testOnly[v] {
				unknown = append(unknown, v)
			}
		}
		sort.Strings(unknown)
		if len(unknown) > 0 {
			t.Errorf("%s names variables the binary does not read: %v", file, unknown)
		}
	}
}
