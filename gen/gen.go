// Package gen holds the code oapi-codegen generates from openapi/*.yaml, one package per
// spec. Nothing under gen/ is edited by hand: change the spec and run "task gen".
package gen

//go:generate go tool oapi-codegen -config fusionauthapi/oapi-codegen.yaml ../openapi/fusionauth.yaml
//go:generate go tool oapi-codegen -config polyhookapi/oapi-codegen.yaml ../openapi/polyhook.yaml
