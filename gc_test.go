package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// serve collects at gcPercent unless GOGC says otherwise, and then leaves Go's setting
// alone. (Not parallel: it sets the environment and the process's collector.)
func TestCollectLessOften(t *testing.T) {
	was := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(was) })
	if v, set := os.LookupEnv("GOGC"); set {
		t.Cleanup(func() { os.Setenv("GOGC", v) })
	} else {
		t.Cleanup(func() { os.Unsetenv("GOGC") })
	}

	os.Unsetenv("GOGC")
	collectLessOften()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC unset: the collector's target is %d, want %d", got, gcPercent)
	}
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50) // what the runtime read from GOGC at start
	collectLessOften()
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC=50: the collector's target is %d, want GOGC's", got)
	}
}
