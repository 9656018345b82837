package delivery

import (
	"os"
	"strings"
	"testing"
)

// catalogueTable renders the catalogue as the Markdown table of docs/events.md.
func catalogueTable() string {
	dialects := []string{"fusionauth", "xsolla", "nursa", "authing"}
	var b strings.Builder
	b.WriteString("| canonical | " + strings.Join(dialects, " | ") + " | meaning |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, e := range Catalogue {
		b.WriteString("| `" + e.Canonical + "` |")
		for _, d := range dialects {
			names := e.Names[d]
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

// The docs page and the code must say the same thing: the table in docs/events.md is
// this catalogue. Run with POLYHOOK_UPDATE_DOCS=1 to rewrite it.
func TestCatalogueIsDocumented(t *testing.T) {
	const path = "../docs/events.md"
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
	want := catalogueTable()
	if got := s[i+len(begin) : j]; got != want {
		if os.Getenv("POLYHOOK_UPDATE_DOCS") != "" {
			if err := os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s is out of date with Catalogue; run POLYHOOK_UPDATE_DOCS=1 go test ./delivery/ -run Catalogue", path)
	}
}

func TestCatalogueNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Catalogue {
		if seen[e.Canonical] {
			t.Errorf("%s is listed twice", e.Canonical)
		}
		seen[e.Canonical] = true
		if strings.Contains(e.Canonical, ":") {
			t.Errorf("%s: canonical names cannot contain ':', which marks <dialect>:<native>", e.Canonical)
		}
	}
}
