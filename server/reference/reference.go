// Package reference serves the gateway's contracts: every API's OpenAPI spec at
// /openapi/<name>.yaml and /openapi/<name>.json, and at /docs a reference page for all of
// them, rendered by a vendored copy of Redoc, so that it needs no network.
package reference

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/oasdiff/yaml"

	"github.com/polyhook/polyhook/openapi"
	"github.com/polyhook/polyhook/server"
)

//go:embed assets/redoc.standalone.js assets/redoc.standalone.js.LICENSE.txt assets/redoc.LICENSE
var assets embed.FS

// Spec is one served API contract.
type Spec struct {
	// Name is the file's name without ".yaml": "polyhook" or a dialect.
	Name  string
	Title string
	YAML  []byte
	JSON  []byte
}

// API serves the specs and the reference page; no route needs a credential.
type API struct {
	specs []Spec
	page  []byte
}

var _ server.API = (*API)(nil)

// New reads the embedded specs. It panics when one of them is not valid YAML, which the
// package's tests rule out for every build.
func New() *API {
	a, err := load()
	if err != nil {
		panic(err)
	}
	return a
}

func load() (*API, error) {
	entries, err := fs.Glob(openapi.Specs, "*.yaml")
	if err != nil {
		return nil, err
	}
	a := &API{}
	for _, name := range entries {
		y, err := openapi.Specs.ReadFile(name)
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(y)
		if err != nil {
			return nil, fmt.Errorf("reference: %s: %w", name, err)
		}
		var doc struct {
			Info struct{ Title string } `json:"info"`
		}
		if err := json.Unmarshal(j, &doc); err != nil {
			return nil, fmt.Errorf("reference: %s: %w", name, err)
		}
		a.specs = append(a.specs, Spec{Name: strings.TrimSuffix(name, ".yaml"), Title: doc.Info.Title, YAML: y, JSON: j})
	}
	// The native API first, then the dialects by name.
	sort.SliceStable(a.specs, func(i, j int) bool {
		if (a.specs[i].Name == "polyhook") != (a.specs[j].Name == "polyhook") {
			return a.specs[i].Name == "polyhook"
		}
		return a.specs[i].Name < a.specs[j].Name
	})
	var b strings.Builder
	if err := page.Execute(&b, a.specs); err != nil {
		return nil, err
	}
	a.page = []byte(b.String())
	return a, nil
}

// Specs lists the served specs, the native API first.
func (a *API) Specs() []Spec { return a.specs }

// Register serves /openapi/<name>.(yaml|json), /docs and its assets.
func (a *API) Register(r *server.Router) {
	r.GET("/openapi/:file", a.spec)
	r.GET("/docs", a.docs)
	r.GET("/docs/assets/:file", a.asset)
}

func (a *API) spec(c echo.Context) error {
	file := c.Param("file")
	ext := path.Ext(file)
	name := strings.TrimSuffix(file, ext)
	for _, s := range a.specs {
		if s.Name != name {
			continue
		}
		switch ext {
		case ".yaml":
			return c.Blob(http.StatusOK, "application/yaml", s.YAML)
		case ".json":
			return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, s.JSON)
		}
	}
	return echo.NewHTTPError(http.StatusNotFound)
}

func (a *API) docs(c echo.Context) error {
	return c.HTMLBlob(http.StatusOK, a.page)
}

func (a *API) asset(c echo.Context) error {
	b, err := assets.ReadFile("assets/" + c.Param("file"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	ct := "text/plain; charset=utf-8"
	if strings.HasSuffix(c.Param("file"), ".js") {
		ct = "text/javascript; charset=utf-8"
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, ct, b)
}

// page lists every API and renders the one chosen (?api=<name>, the native API by
// default) with Redoc, from the gateway's own files only.
var page = template.Must(template.New("docs").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Polyhook API reference</title>
<style>
body { margin: 0; font-family: system-ui, sans-serif; }
nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; padding: .6rem 1rem; background: #1f2933; color: #f5f7fa; }
nav strong { margin-right: .5rem; }
nav a { color: #cbd2d9; text-decoration: none; }
nav a.current { color: #fff; text-decoration: underline; }
nav .files { font-size: .8rem; color: #9aa5b1; }
nav .files a { color: #9aa5b1; }
</style>
</head>
<body>
<nav id="apis">
<strong>Polyhook APIs</strong>
{{range .}}<span><a class="api" data-api="{{.Name}}" href="/docs?api={{.Name}}">{{.Title}}</a> <span class="files">(<a href="/openapi/{{.Name}}.yaml">yaml</a>, <a href="/openapi/{{.Name}}.json">json</a>)</span></span>
{{end}}</nav>
<div id="redoc"></div>
<script src="/docs/assets/redoc.standalone.js"></script>
<script>
(function () {
  var names = [{{range .}}{{.Name}},{{end}}];
  var api = new URLSearchParams(location.search).get("api");
  if (names.indexOf(api) < 0) { api = names[0]; }
  document.querySelectorAll("a.api").forEach(function (a) {
    if (a.dataset.api === api) { a.className += " current"; }
  });
  // The YAML, not the JSON: it keeps the spec's order of paths and fields.
  Redoc.init("/openapi/" + api + ".yaml", {}, document.getElementById("redoc"));
})();
</script>
</body>
</html>
`))
