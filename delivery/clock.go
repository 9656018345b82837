package delivery

import "time"

// Clock is where the engine reads the time and waits for it: every claim's end, every
// attempt's start, the schedule of retries, the age of endpoints' places, the health and
// disabling of endpoints, replicas' heartbeats, and every tick and timer of the engine's
// parts (the scheduler's polls, renewals and releases, the heartbeat, a publisher's wait
// for room, the recorder's pause before trying a batch again). Tests give the engine a
// clock they move themselves (Config.Clock), so that time passes at once instead of
// being slept through.
type Clock interface {
	Now() time.Time
	// Tick returns a channel that receives every d, and stops it with stop.
	Tick(d time.Duration) (c <-chan time.Time, stop func())
	// After returns a channel that receives once d has passed, and stops it with stop.
	After(d time.Duration) (c <-chan time.Time, stop func())
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Tick(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

func (wallClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// sleep waits d on clock.
func sleep(clock Clock, d time.Duration) {
	c, stop := clock.After(d)
	defer stop()
	<-c
}
