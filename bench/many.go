package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The many group: what many webhooks cost. In each run, against the run's ceiling:
//
//   - 10,000 webhooks stored, one of which matches the load's events: the sustained
//     figure and the publish latency with them, against the same run's figure with the
//     one webhook alone, the gateway's start on that store and its peak RSS. The other
//     9,999 are global FusionAuth webhooks for another event (user.delete): the kind a
//     publish cannot leave out by its query (same dialect, same scope) and has to rule
//     out by event name.
//   - A fan-out of 1,000 per event (1,000 global native subscriptions to user.created):
//     deliveries/s, gateway CPU per delivery, the latency of a publish that fans out to
//     1,000, alone and under load, and the peak RSS.
//
// The webhooks are made through the gateway's APIs, manyCreators at a time.

const (
	manyWebhooks    = 10_000
	manyFanout      = 1_000
	manyCreators    = 16
	fanoutPublisher = 4 // concurrent publishers of the fan-out load, each event 1,000 deliveries
)

func (b *bench) manyRun(r int) error {
	b.measureCeiling()

	// 10,000 webhooks, one matching.
	if err := b.startGateways(fmt.Sprintf("many-%d", r)); err != nil {
		return err
	}
	key := b.mint()
	b.hook(key, "/ok/1", 30000)
	b.section = "many: 1 webhook, the baseline"
	one, cpu0, cpu1 := b.window(b.gateways, 1, "")
	b.add("deliveries/s", one, "/s", "", true)
	b.add("share of the ceiling", 100*one/b.ceiling, "%", "", true)
	b.publishLatency("publish request under load")
	b.cores(one, cpu0, cpu1, func(s cpuSample) float64 { return s.gateway }, "gateway", false)
	b.latency("fixed rate 500/s, publish to receipt", 500, b.n(5000))

	t0 := time.Now()
	b.create(manyWebhooks-1, func(i int) {
		b.post(b.gateways[0]+"/api/webhook", key, fmt.Sprintf(`{"webhook":{"url":"%s/ok/n%d","connectTimeout":1000,"readTimeout":30000,"global":true,"eventsEnabled":{"user.delete":true}}}`, b.recv, i))
	})
	made := time.Since(t0)
	section := fmt.Sprintf("many: %d webhooks stored, 1 matching", manyWebhooks)
	b.section = section
	b.add(fmt.Sprintf("creating %d webhooks through the FusionAuth API (%d at a time)", manyWebhooks-1, manyCreators),
		float64(manyWebhooks-1)/made.Seconds(), "/s", "", true)
	rss := b.peak()
	b.killGateways()
	t0 = time.Now()
	if err := b.launch(b.runDB); err != nil {
		return err
	}
	b.add("gateway start, until it answers", time.Since(t0).Seconds(), "s", "", true)
	t0 = time.Now()
	b.publish(b.gateways, 0)
	b.add("first publish after the start (reads the webhooks)", float64(time.Since(t0).Microseconds())/1000, "ms", "", true)
	b.waitReceived(1, 10*time.Second)

	profile := ""
	if r == 1 {
		profile = "bench-many"
	}
	rate, cpu0, cpu1 := b.window(b.gateways, 1, profile)
	b.section = section
	b.add("deliveries/s", rate, "/s", "", true)
	b.add("share of the ceiling", 100*rate/b.ceiling, "%", "", true)
	share := 100 * rate / one
	b.add("share of the 1-webhook figure", share, "%", "", true)
	b.publishLatency("publish request under load")
	b.cores(rate, cpu0, cpu1, func(s cpuSample) float64 { return s.gateway }, "gateway", false)
	b.latency("fixed rate 500/s, publish to receipt", 500, b.n(5000))
	rss = max(rss, b.peak())
	b.add("gateway peak RSS", rss, "MB", "≤ 150 MB", rss <= 150)
	b.stopGateways()

	// A fan-out of 1,000 per event, on a store of its own.
	if err := b.startGateways(fmt.Sprintf("many-fan-%d", r)); err != nil {
		return err
	}
	b.create(manyFanout, func(i int) {
		b.post(b.gateways[0]+"/v1/webhooks", "Bearer "+token, fmt.Sprintf(`{"url":"%s/ok/f%d","events":["user.created"]}`, b.recv, i))
	})
	b.section = fmt.Sprintf("many: fan-out, %d webhooks per event", manyFanout)
	// One event at a time: how long its publish takes to answer, and until its last
	// delivery arrives.
	b.reset()
	var pub, all []float64
	for i := range b.n(30) {
		t0 := time.Now()
		b.publish(b.gateways, i)
		pub = append(pub, float64(time.Since(t0).Microseconds())/1000)
		b.waitReceived(int64(i+1)*manyFanout, time.Minute)
		all = append(all, float64(time.Since(t0).Microseconds())/1000)
	}
	p := stats{Latencies: pub}
	b.add("one event at a time: publish request p50", p.percentile(50), "ms", "", true)
	b.add("one event at a time: publish request p99", p.percentile(99), "ms", "", true)
	a := stats{Latencies: all}
	b.add("one event at a time: publish to its last delivery, p50", a.percentile(50), "ms", "", true)

	publishers := b.publishers
	b.publishers = min(publishers, fanoutPublisher)
	profile = ""
	if r == 1 {
		profile = "bench-fanout1000"
	}
	rate, cpu0, cpu1 = b.window(b.gateways, manyFanout, profile)
	b.publishers = publishers
	b.section = fmt.Sprintf("many: fan-out, %d webhooks per event", manyFanout)
	b.add("deliveries/s", rate, "/s", "", true)
	b.add("share of the ceiling", 100*rate/b.ceiling, "%", "", true)
	b.publishLatency(fmt.Sprintf("publish request under load (%d publishers)", min(publishers, fanoutPublisher)))
	b.cores(rate, cpu0, cpu1, func(s cpuSample) float64 { return s.gateway }, "gateway", false)
	rss = b.peak()
	b.add("gateway peak RSS", rss, "MB", "≤ 150 MB", rss <= 150)
	b.stopGateways()

	b.section = "memory"
	b.add("gateway peak RSS (largest of the run)", b.rss, "MB", "≤ 150 MB", b.rss <= 150)
	b.rss = 0
	return nil
}

// create calls do(i) for i in [0, n), manyCreators at a time, printing its progress.
func (b *bench) create(n int, do func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range manyCreators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				do(i)
				if (i+1)%2500 == 0 {
					fmt.Printf("  made %d of %d webhooks\n", i+1, n)
				}
			}
		}()
	}
	wg.Wait()
}

// peak is the largest peak RSS of the running gateways, MB.
func (b *bench) peak() float64 {
	var m float64
	for _, p := range b.gwProcs {
		m = max(m, peakRSS(p.Process.Pid))
	}
	return m
}

// publishLatency records the p50 and p99 of the publish requests of the last window's
// measured part.
func (b *bench) publishLatency(name string) {
	s := stats{Latencies: b.publishTimes}
	b.add(name+" p50", s.percentile(50), "ms", "", true)
	b.add(name+" p99", s.percentile(99), "ms", "", true)
}
