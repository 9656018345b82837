module github.com/polyhook/polyhook/examples

go 1.26.0

require github.com/polyhook/polyhook/client v0.0.0

require (
	github.com/apapsch/go-jsonmerge/v2 v2.0.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/oapi-codegen/nullable v1.2.0 // indirect
	github.com/oapi-codegen/runtime v1.9.0 // indirect
)

replace github.com/polyhook/polyhook/client => ../client
