package client_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// An application that requires only this module gets its small graph: at most 15
// modules in "go list -m all", and no newer Go than this module's.
func TestAUserModuleGetsASmallGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`)
	own, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	clientGo := goLine.FindSubmatch(own)[1]
	write("go.mod", "module example.com/app\n\ngo "+string(clientGo)+"\n\nrequire github.com/polyhook/polyhook/client v0.0.0\n\nreplace github.com/polyhook/polyhook/client => "+here+"\n")
	write("main.go", `package main

import (
	"fmt"

	"github.com/polyhook/polyhook/client"
	"github.com/polyhook/polyhook/client/fusionauth"
)

func main() {
	c, err := client.New("http://127.0.0.1:8080", "token")
	fmt.Println(c != nil, err)
	_, _ = fusionauth.NewClient("http://127.0.0.1:8080")
}
`)
	gocmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	gocmd("mod", "tidy")
	mods := strings.Fields(gocmd("list", "-m", "-f", "{{.Path}}", "all"))
	if len(mods) > 15 {
		t.Errorf("a module requiring only the client lists %d modules:\n%s", len(mods), strings.Join(mods, "\n"))
	}
	for _, m := range mods {
		for _, banned := range []string{"github.com/labstack/", "gorm.io/", "github.com/riverqueue/", "github.com/aws/", "cloud.google.com/", "go.opentelemetry.io/", "github.com/getkin/"} {
			if strings.HasPrefix(m, banned) {
				t.Errorf("a user of the client gets %s", m)
			}
		}
	}
	tidied, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if got := goLine.FindSubmatch(tidied)[1]; string(got) != string(clientGo) {
		t.Errorf("the user's module needs go %s, the client declares go %s", got, clientGo)
	}
	gocmd("build", "./...")
	t.Logf("%d modules: %s", len(mods), strings.Join(mods, " "))
}
