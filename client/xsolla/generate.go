package xsolla

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi/xsolla.yaml
