package client

// The client is a module of its own and oapi-codegen a tool of the gateway's module: it
// runs there (go -C ..), writing here.
//go:generate go -C .. tool oapi-codegen -config client/oapi-codegen.yaml -o client/client.gen.go openapi/polyhook.yaml
