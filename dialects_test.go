package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
)

// catalogueTable renders the catalogue as the Markdown table of docs/events.md: the
// canonical events, and one column per dialect of ds, in their order.
func catalogueTable(ds []server.Dialect) string {
	var b strings.Builder
	b.WriteString("| canonical |")
	sep := "|---|"
	for _, d := range ds {
		b.WriteString(" " + d.Name() + " |")
		sep += "---|"
	}
	b.WriteString(" meaning |\n" + sep + "---|\n")
	for _, e := range delivery.Catalogue {
		b.WriteString("| `" + e.Name + "` |")
		for _, d := range ds {
			names := d.Encoder().Events()[e.Name]
			if len(names) == 0 {
				b.WriteString(" — |")
				continue
			}
			b.WriteString(" `" + strings.Join(names, "`, `") + "` |")
		}
		b.WriteString(" " + e.Description + " |\n")
	}
	return b.String()
}

// checkDocumented fails unless the table in the page at path is the catalogue of ds; with
// POLYHOOK_UPDATE_DOCS set it rewrites the table instead.
func checkDocumented(t *testing.T, path string, ds []server.Dialect) {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- catalogue:begin -->\n", "<!-- catalogue:end -->"
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the catalogue markers", path)
	}
	want := catalogueTable(ds)
	if got := s[i+len(begin) : j]; got != want {
		if os.Getenv("POLYHOOK_UPDATE_DOCS") != "" {
			if err := os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s is out of date with the registered dialects' catalogue; run POLYHOOK_UPDATE_DOCS=1 go test . -run Catalogue", path)
	}
}

// The docs page and the code say the same thing: the table in docs/events.md is the
// catalogue's canonical events with every registered dialect's column.
func TestCatalogueIsDocumented(t *testing.T) {
	checkDocumented(t, "docs/events.md", dialects(server.Deps{}))
}

// Every vendor fact lives in its dialect's package: the code of store/ and delivery/ names
// no registered dialect, not even in a comment.
func TestCoreNamesNoDialect(t *testing.T) {
	for _, root := range []string{"store", "delivery"} {
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for n, line := range strings.Split(strings.ToLower(string(b)), "\n") {
				for _, d := range dialects(server.Deps{}) {
					if strings.Contains(line, d.Name()) {
						t.Errorf("%s:%d names the %s dialect: %s", path, n+1, d.Name(), strings.TrimSpace(line))
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// One list serves every part: each registered dialect is served, delivered for and
// accepted as a dialect filter under one name, and no two share a name.
func TestDialectsAreRegisteredOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range dialects(server.Deps{}) {
		if seen[d.Name()] {
			t.Errorf("%s is registered twice", d.Name())
		}
		seen[d.Name()] = true
		if d.Encoder().Dialect() != d.Name() {
			t.Errorf("%s delivers as %q", d.Name(), d.Encoder().Dialect())
		}
	}
}
