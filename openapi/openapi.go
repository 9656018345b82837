// Package openapi holds the specs of every API the gateway serves, one YAML file each:
// the vendors' contracts and the native API. The gateway serves them as they are here.
package openapi

import "embed"

// Specs holds <name>.yaml for every API.
//
//go:embed *.yaml
var Specs embed.FS
