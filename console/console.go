// Package console serves the operator console: a few static files embedded in the binary
// (HTML, CSS and JavaScript modules, no build step) at /console. The console holds the
// admin token in the browser's session storage and does everything through the native
// API under /v1, like any other client; it has no endpoint of its own.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/server"
)

//go:embed static
var files embed.FS

// Console is the operator console.
type Console struct{ static fs.FS }

// New returns the console.
func New() *Console {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded folder is part of the build
	}
	return &Console{static: static}
}

// Register serves /console, and sends / there.
func (c *Console) Register(r *server.Router) {
	r.GET("/", redirect)
	r.GET("/console", redirect)
	r.GET("/console/", c.serve)
	r.GET("/console/*", c.serve)
	r.HEAD("/console/", c.serve)
	r.HEAD("/console/*", c.serve)
}

func redirect(c echo.Context) error {
	return c.Redirect(http.StatusFound, "/console/")
}

// securityHeaders keep the page from loading anything but its own files, from being
// framed, and from sending its address anywhere.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"X-Frame-Options":        "DENY",
	"Cache-Control":          "no-cache",
}

func (c *Console) serve(e echo.Context) error {
	name := strings.TrimPrefix(e.Request().URL.Path, "/console/")
	if name == "" {
		name = "index.html"
	}
	name = path.Clean(name)
	b, err := fs.ReadFile(c.static, name)
	if err != nil || !fs.ValidPath(name) {
		return e.JSON(http.StatusNotFound, map[string]any{"error": map[string]string{"code": "not_found", "message": "No such file in the console."}})
	}
	h := e.Response().Header()
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
	return e.Blob(http.StatusOK, contentType(name), b)
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}
