package delivery

import (
	"strings"
	"testing"
)

func TestCatalogueNamesAreUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, e := range Catalogue {
		if seen[e.Name] {
			t.Errorf("%s is listed twice", e.Name)
		}
		seen[e.Name] = true
		if strings.Contains(e.Name, ":") {
			t.Errorf("%s: canonical names cannot contain ':', which marks <dialect>:<native>", e.Name)
		}
	}
}
