// Package console serves the operator console and the tenant portal: a few static files
// embedded in the binary (HTML, CSS and JavaScript modules, no build step) at /console and
// /portal. The console holds the admin token in the browser's session storage and does
// everything through the native API under /v1, like any other client. The portal is the
// same page in its tenant mode: it holds no token, its session is an HttpOnly cookie, and
// it calls the tenant-scoped mirror of /v1 at /portal/v1 (server/native).
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

// Console is the operator console and the tenant portal.
type Console struct {
	static fs.FS
	// portalHeaders are securityHeaders with the portal's frame-ancestors.
	portalHeaders map[string]string
}

// New returns the console. portalOrigins may frame the tenant portal (the operator's
// allow-list, each "scheme://host[:port]"); none by default. The console itself is never
// framed.
func New(portalOrigins ...string) *Console {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded folder is part of the build
	}
	ph := map[string]string{}
	for k, v := range securityHeaders {
		ph[k] = v
	}
	if len(portalOrigins) > 0 {
		ph["Content-Security-Policy"] = strings.Replace(ph["Content-Security-Policy"], "frame-ancestors 'none'",
			"frame-ancestors "+strings.Join(portalOrigins, " "), 1)
		delete(ph, "X-Frame-Options")
	}
	return &Console{static: static, portalHeaders: ph}
}

// Register serves /console and /portal, and sends / to the console.
func (c *Console) Register(r *server.Router) {
	r.GET("/", redirect)
	r.GET("/favicon.ico", c.favicon)
	r.GET("/console", redirect)
	r.GET("/portal", func(e echo.Context) error { return e.Redirect(http.StatusFound, "/portal/") })
	for _, p := range []string{"/console/", "/console/*", "/portal/", "/portal/*"} {
		r.GET(p, c.serve)
		r.HEAD(p, c.serve)
	}
}

// favicon answers browsers that ask for /favicon.ico with the console's icon.
func (c *Console) favicon(e echo.Context) error {
	b, err := fs.ReadFile(c.static, "icon.svg")
	if err != nil {
		return err
	}
	e.Response().Header().Set("Cache-Control", "max-age=86400")
	return e.Blob(http.StatusOK, "image/svg+xml", b)
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
	headers := securityHeaders
	name, portal := strings.CutPrefix(e.Request().URL.Path, "/portal/")
	if portal {
		headers = c.portalHeaders
		if name == "" || name == "index.html" {
			name = "portal.html"
		}
	} else {
		name = strings.TrimPrefix(name, "/console/")
	}
	if name == "" {
		name = "index.html"
	}
	name = path.Clean(name)
	b, err := fs.ReadFile(c.static, name)
	if err != nil || !fs.ValidPath(name) {
		return e.JSON(http.StatusNotFound, map[string]any{"error": map[string]string{"code": "not_found", "message": "No such file in the console."}})
	}
	h := e.Response().Header()
	for k, v := range headers {
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
