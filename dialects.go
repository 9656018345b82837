package main

import (
	"github.com/polyhook/polyhook/gateway"
	"github.com/polyhook/polyhook/server"
)

// registered are the dialects this binary serves: the gateway's list (gateway.Registered),
// kept in a variable so that the acme proof can add one.
var registered = gateway.Registered()

// dialects builds every registered dialect from deps.
func dialects(deps server.Deps) []server.Dialect { return gateway.Build(registered, deps) }
