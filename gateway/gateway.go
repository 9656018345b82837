// Package gateway builds the whole gateway from the one list of dialects: every dialect
// served by one server and delivered for by one engine, with the native API, the API
// reference, the console and /metrics beside them. The binary and every test that needs
// a gateway build it here, so that a dialect added to the list reaches all of them.
package gateway

import (
	"net/http"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/polyhook/polyhook/console"
	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/authing"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/native"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/server/reference"
	"github.com/polyhook/polyhook/server/xsolla"
)

// Dialect builds one dialect from the gateway's dependencies.
type Dialect func(server.Deps) server.Dialect

// Registered returns the dialects the gateway serves, one line each, in a fresh slice a
// caller may extend (the acme proof does). Everything else about a dialect (its routes,
// its column of the event catalogue, its scope, secret headers, retry vocabulary,
// credentials and log views) comes from its package, through server.Dialect. The native
// API's "standard" subscriptions are not listed: /v1 registers them itself.
func Registered() []Dialect {
	return []Dialect{
		Of(fusionauth.New),
		Of(xsolla.New),
		Of(nursa.New),
		Of(authing.New),
	}
}

// Of gives a dialect package's constructor, New(server.Deps) *Dialect, the shape of the
// list.
func Of[D server.Dialect](newDialect func(server.Deps) D) Dialect {
	return func(deps server.Deps) server.Dialect { return newDialect(deps) }
}

// Build builds every dialect of list from deps.
func Build(list []Dialect, deps server.Deps) []server.Dialect {
	out := make([]server.Dialect, len(list))
	for i, newDialect := range list {
		out[i] = newDialect(deps)
	}
	return out
}

// Names names the dialects of list, in the list's order: what the CLI and the console
// offer.
func Names(list []Dialect) []string {
	names := make([]string, len(list))
	for i, d := range Build(list, server.Deps{}) {
		names[i] = d.Name()
	}
	return names
}

// BuildInfo is the version and VCS revision of the running binary.
type BuildInfo struct{ Version, Revision string }

// Config is what New wires together.
type Config struct {
	Deps   server.Deps
	Engine *delivery.Engine
	// TokenHash is the hash of the native API's admin token.
	TokenHash string
	// Build names the running build in /metrics (polyhook_build_info).
	Build BuildInfo
	// Dialects are the dialects served; nil serves Registered().
	Dialects []Dialect
	// PortalOrigins may frame the tenant portal (--portal-origins); none when empty.
	PortalOrigins []string
}

// New wires every API and every dialect onto one server and the engine. Starting and
// stopping the engine stays the caller's.
func New(c Config) *server.Server {
	deps, engine := c.Deps, c.Engine
	list := c.Dialects
	if list == nil {
		list = Registered()
	}
	if deps.Targets == nil {
		// Webhook URLs are checked against the very policy deliveries are sent under.
		deps.Targets = engine.Targets()
	}
	srv := server.New(deps.Log)
	if deps.MaxBodyBytes > 0 {
		srv.MaxBodyBytes = deps.MaxBodyBytes
	}
	deps.Engine = engine
	for _, d := range Build(list, deps) {
		srv.Register(d)
		engine.Register(d.Encoder())
	}
	srv.Register(native.New(deps, engine, srv, c.TokenHash).WithPortal(native.PortalOptions{Origins: c.PortalOrigins}),
		reference.New(), console.New(c.PortalOrigins...))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(server.Collectors()...)
	reg.MustRegister(engine.Collectors()...)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "polyhook_build_info",
		Help:        "Always 1; its labels say which build is running: version, revision and the Go release it was built with.",
		ConstLabels: prometheus.Labels{"version": c.Build.Version, "revision": c.Build.Revision, "goversion": runtime.Version()},
	}, func() float64 { return 1 }))
	srv.Handle(http.MethodGet, "/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return srv
}
