package nursa

//go:generate go -C ../.. tool oapi-codegen -config client/nursa/oapi-codegen.yaml -o client/nursa/nursa.gen.go openapi/nursa.yaml
