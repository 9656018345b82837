package nursa

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi/nursa.yaml
