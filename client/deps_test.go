package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The client packages are for applications, not gateways: nothing of the server may be
// in their dependency graph, or importing them pulls in Echo, kin-openapi and GORM.
func TestClientsDependOnNothingOfTheServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, pkg := range []string{"github.com/polyhook/polyhook/client", "github.com/polyhook/polyhook/client/fusionauth",
		"github.com/polyhook/polyhook/client/xsolla", "github.com/polyhook/polyhook/client/nursa", "github.com/polyhook/polyhook/client/authing"} {
		if !contains(deps, pkg) {
			t.Errorf("%s is not listed; the test looks at the wrong packages", pkg)
		}
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/labstack/", "github.com/getkin/kin-openapi", "gorm.io/",
			"github.com/polyhook/polyhook/server", "github.com/polyhook/polyhook/store", "github.com/polyhook/polyhook/delivery", "github.com/polyhook/polyhook/gen"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("the client packages depend on %s", d)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
