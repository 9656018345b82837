package delivery

import (
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/polyhook/polyhook/store"
)

// The claim lifecycle. Every attempt is made under a claim (store.Delivery.ClaimedUntil
// and ClaimedBy): the process that publishes an event claims its deliveries in the
// publishing transaction and hands them to its workers as soon as it commits; every
// other attempt (a retry, an operator's retry or recovery, a delivery whose endpoint was
// busy or whose breaker was open, one handed back untried) waits as its row, due at its
// next_attempt_at, until the scheduler (scheduler.go) claims it and hands it to
// the same workers. The attempt is recorded, a batch at a time, in a transaction that
// also ends the claim and sets the next attempt's time when one is due (recorder.go).
//
// Nothing is lost when the process dies: its heartbeat stops, and another replica makes
// its claims due within seconds (replicas.go); should that fail too, its claims run out
// and the sweep (a periodic maintenance job that runs on one process of all) makes them
// due. Where one process owns the database (SQLite), the scheduler does that for every
// claim at start. An attempt whose record did not commit before its process died is made
// again: delivery is at least once, as it always was.

// claim is one attempt this process sends itself.
type claim struct {
	d store.Delivery
	// w is the webhook as it was read at read: by the publish, or before the attempt;
	// nil before then for a claim taken by the poll for due deliveries.
	w    *store.Webhook
	read time.Time
	// writes is the store's count of webhook writes taken before w was read (see
	// driver.Driver.WebhookWrites).
	writes uint64
	// waited is set once the claim is parked: it reads its webhook again when its turn
	// comes (see webhookNow).
	waited bool
	ev     *store.Event
	until  time.Time
	// slot is the webhook's place passed on to the claim while it was parked.
	slot slot
	// parked is whether the claim waits in endpoints.parked (endpoints.mu guards it, and
	// until while it is true).
	parked bool
	// span is the publish's trace span, the parent of the attempt's.
	span trace.SpanContext
}

// claimMargin is how long before a claim runs out its attempt must be over, so that it
// is recorded before the sweep may make the delivery due again.
func claimMargin(rescueAfter time.Duration) time.Duration { return min(rescueAfter/4, 15*time.Second) }
