package fusionauth

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi/fusionauth.yaml
