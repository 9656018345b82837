package authing

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi/authing.yaml
