package main

import (
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/authing"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/server/xsolla"
)

// registered are the dialects the gateway serves, one line each. Everything else about a
// dialect (its routes, its column of the event catalogue, its scope, secret headers, retry
// vocabulary, credentials and log views) comes from its package, through server.Dialect.
// The native API's "standard" subscriptions are not listed: /v1 registers them itself.
var registered = []func(server.Deps) server.Dialect{
	dialect(fusionauth.New),
	dialect(xsolla.New),
	dialect(nursa.New),
	dialect(authing.New),
}

// dialects builds every registered dialect from deps.
func dialects(deps server.Deps) []server.Dialect {
	out := make([]server.Dialect, len(registered))
	for i, newDialect := range registered {
		out[i] = newDialect(deps)
	}
	return out
}

// dialect gives a dialect package's constructor, New(server.Deps) *Dialect, the shape of
// the list.
func dialect[D server.Dialect](newDialect func(server.Deps) D) func(server.Deps) server.Dialect {
	return func(deps server.Deps) server.Dialect { return newDialect(deps) }
}
