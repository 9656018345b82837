package delivery

import "time"

// Clock is where the engine reads the time: every claim's end, every attempt's start, the
// schedule of retries, the age of endpoints' places, the health and disabling of
// endpoints and replicas' heartbeats. Tests give the engine a clock they move themselves
// (Config.Clock); the waits between ticks of the engine's loops stay real time.
type Clock interface {
	Now() time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
