//go:build !unix

package store

// diskFree cannot tell on this platform.
func diskFree(string) int64 { return -1 }
