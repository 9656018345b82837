package authing

//go:generate go -C ../.. tool oapi-codegen -config client/authing/oapi-codegen.yaml -o client/authing/authing.gen.go openapi/authing.yaml
