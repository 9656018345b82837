package xsolla

//go:generate go -C ../.. tool oapi-codegen -config client/xsolla/oapi-codegen.yaml -o client/xsolla/xsolla.gen.go openapi/xsolla.yaml
