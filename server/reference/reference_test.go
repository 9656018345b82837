package reference_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/polyhook/polyhook/server/reference"
	"github.com/polyhook/polyhook/server/servertest"
)

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// Every spec in openapi/ is served as YAML, byte for byte, and as JSON that loads as the
// same OpenAPI document.
func TestSpecsAreServed(t *testing.T) {
	a := reference.New()
	url, _ := servertest.Start(t, a)
	files, err := filepath.Glob("../../openapi/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("specs: %v %v", files, err)
	}
	if len(a.Specs()) != len(files) || a.Specs()[0].Name != "polyhook" {
		t.Errorf("served %d specs for %d files, native first: %+v", len(a.Specs()), len(files), a.Specs()[0].Name)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		want, _ := os.ReadFile(f)
		resp, b := get(t, url+"/openapi/"+name+".yaml")
		if resp.StatusCode != 200 || string(b) != string(want) || !strings.Contains(resp.Header.Get("Content-Type"), "yaml") {
			t.Errorf("%s.yaml: %d %s, %d bytes", name, resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
		}
		resp, b = get(t, url+"/openapi/"+name+".json")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !json.Valid(b) {
			t.Errorf("%s.json: %d %s", name, resp.StatusCode, resp.Header.Get("Content-Type"))
			continue
		}
		fromJSON, err := openapi3.NewLoader().LoadFromData(b)
		if err != nil {
			t.Errorf("%s.json does not load: %v", name, err)
			continue
		}
		fromYAML, err := openapi3.NewLoader().LoadFromData(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := fromJSON.Validate(t.Context()); err != nil {
			t.Errorf("%s.json is not a valid spec: %v", name, err)
		}
		j1, _ := json.Marshal(fromJSON)
		j2, _ := json.Marshal(fromYAML)
		if string(j1) != string(j2) {
			t.Errorf("%s.json is not the same document as %s.yaml", name, name)
		}
	}
	for _, p := range []string{"/openapi/nope.json", "/openapi/polyhook.xml", "/openapi/polyhook", "/docs/assets/nope.js", "/docs/assets/..%2freference.go"} {
		if resp, _ := get(t, url+p); resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

// The reference page lists every API and loads nothing but the gateway's own files, so it
// works offline.
func TestDocsPageIsSelfContained(t *testing.T) {
	a := reference.New()
	url, _ := servertest.Start(t, a)
	resp, page := get(t, url+"/docs")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, s := range a.Specs() {
		if !strings.Contains(string(page), `href="/docs?api=`+s.Name+`"`) || !strings.Contains(string(page), s.Title) {
			t.Errorf("/docs does not list %s (%s)", s.Name, s.Title)
		}
	}
	refs := regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']([^"']+)["']`).FindAllStringSubmatch(string(page), -1)
	if len(refs) == 0 {
		t.Fatal("no references found on the page")
	}
	scripts := 0
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("/docs references %q, which is not the gateway's own", ref)
			continue
		}
		if resp, _ := get(t, url+ref); resp.StatusCode != 200 {
			t.Errorf("/docs references %s, which answers %d", ref, resp.StatusCode)
		}
		if strings.HasSuffix(ref, ".js") {
			scripts++
		}
	}
	if scripts == 0 {
		t.Error("/docs loads no script: Redoc is not on the page")
	}
	if strings.Contains(string(page), "://") {
		t.Errorf("/docs holds an absolute URL")
	}
	// The bundle itself loads no fonts or scripts from elsewhere.
	resp, js := get(t, url+"/docs/assets/redoc.standalone.js")
	if resp.StatusCode != 200 || len(js) < 100_000 || !strings.Contains(string(js), "Redoc") {
		t.Fatalf("redoc bundle: %d, %d bytes", resp.StatusCode, len(js))
	}
	for _, cdn := range []string{"cdn.", "fonts.googleapis", "unpkg.com", "jsdelivr"} {
		if strings.Contains(string(js), cdn) {
			t.Errorf("the Redoc bundle mentions %s", cdn)
		}
	}
}
