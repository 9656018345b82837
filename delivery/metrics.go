package delivery

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of every engine in the process; Collectors adds the database-backed gauges.
var (
	attemptsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polyhook_delivery_attempts_total",
		Help: "Delivery attempts by dialect and outcome (success, failure, refused, timeout).",
	}, []string{"dialect", "outcome"})
	deliveriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polyhook_deliveries_finished_total",
		Help: "Deliveries that reached a final state, by dialect and state (succeeded, failed, cancelled).",
	}, []string{"dialect", "state"})
	attemptSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "polyhook_delivery_attempt_duration_seconds",
		Help:    "Time from sending an attempt to its response or error, by dialect.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"dialect"})
	publishedTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "polyhook_events_published_total",
		Help: "Events accepted by publish (repeats of an idempotency id excluded).",
	})
	breakerOpenings = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "polyhook_breaker_openings_total",
		Help: "Circuit breakers this process opened: an endpoint failed 5 attempts in a row and every replica paused it (probes that failed again are not counted).",
	})
	operatorEventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polyhook_operator_events_total",
		Help: "The gateway's own events (polyhook.*) by type and outcome (published, failed or deferred: left to the sweep).",
	}, []string{"type", "outcome"})
)

// Collectors returns the engine's metrics: attempt and delivery counters, the attempt
// latency histogram, and gauges read from the database at scrape time (pending
// deliveries, age of the oldest pending one, disabled endpoints).
func (e *Engine) Collectors() []prometheus.Collector {
	backlog := func() (float64, float64) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, oldest, err := e.db.Backlog(ctx)
		if err != nil || oldest.IsZero() {
			return float64(n), 0
		}
		return float64(n), e.clock.Now().Sub(oldest).Seconds()
	}
	return []prometheus.Collector{
		attemptsTotal, deliveriesTotal, attemptSeconds, publishedTotal, breakerOpenings, operatorEventsTotal,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "polyhook_deliveries_pending", Help: "Deliveries waiting for an attempt."},
			func() float64 { n, _ := backlog(); return n }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "polyhook_oldest_pending_delivery_age_seconds", Help: "Age of the oldest pending delivery."},
			func() float64 { _, age := backlog(); return age }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "polyhook_deliveries_parked", Help: "First attempts this process holds in memory, waiting for a place of a busy or stuck endpoint."},
			func() float64 { n, _ := e.slots.load(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "polyhook_parked_bytes", Help: "Memory the parked first attempts are counted to hold, against --park-memory-mb."},
			func() float64 { _, b := e.slots.load(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "polyhook_webhooks_disabled", Help: "Webhooks the gateway stopped delivering to (410, or failing too long)."},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				n, _ := e.db.DisabledWebhooks(ctx)
				return float64(n)
			}),
	}
}

func outcome(res Result, ok bool) string {
	switch {
	case ok:
		return "success"
	case res.ErrKind == "refused_target":
		return "refused"
	case res.ErrKind == "timeout":
		return "timeout"
	}
	return "failure"
}
