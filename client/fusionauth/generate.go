package fusionauth

//go:generate go -C ../.. tool oapi-codegen -config client/fusionauth/oapi-codegen.yaml -o client/fusionauth/fusionauth.gen.go openapi/fusionauth.yaml
