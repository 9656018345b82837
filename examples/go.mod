module github.com/polyhook/polyhook/examples

go 1.26.8

require github.com/polyhook/polyhook v0.0.0

require (
	github.com/apapsch/go-jsonmerge/v2 v2.0.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/oapi-codegen/runtime v1.8.0 // indirect
)

replace github.com/polyhook/polyhook => ../
