package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyhook/polyhook/store"
)

// One attempt: try sends it, conclude applies the retry policy to its outcome (the one
// place that counts attempts and schedules the next); the recorder then writes it, with
// the endpoint's health (recorder.go). The pipeline (pipeline.go) runs them in order.

// try sends one attempt of d to w, whose places the caller holds, and returns the
// attempt, not yet recorded, with what the endpoint answered and whether it succeeded.
// within, when not 0, bounds the attempt's time. An error is the gateway's own failure,
// or ctx ending mid-attempt (the delivery then stays pending, to be sent after a
// restart).
func (e *Engine) try(ctx context.Context, d *store.Delivery, w *store.Webhook, ev *store.Event, within time.Duration) (*store.Attempt, Result, bool, error) {
	enc, ok := e.encoders[w.Dialect]
	if !ok {
		return nil, Result{}, false, fmt.Errorf("%w %q", ErrUnknownDialect, w.Dialect)
	}
	at := e.now()
	msg := &Message{
		DeliveryID: d.ID, EventID: ev.ID, EventName: d.EventName, Tenant: ev.Tenant,
		OccurredAt: ev.OccurredAt, Data: ev.Data, Webhook: w, At: at,
	}
	body, header, err := enc.Encode(msg)
	if err != nil {
		return &store.Attempt{URL: w.URL, StartedAt: at, Error: "encode: " + err.Error(), ErrorKind: "encode"}, Result{}, false, nil
	}
	req, err := request(w, d.ID, at, body, header, nil)
	if err != nil {
		return nil, Result{}, false, err
	}
	req.Within = within
	ctx, span := tracer.Start(ctx, "attempt", trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	if span.IsRecording() {
		span.SetAttributes(attribute.String("polyhook.delivery.id", d.ID), attribute.String("polyhook.webhook.id", w.ID),
			attribute.String("polyhook.dialect", w.Dialect), attribute.String("polyhook.event.name", d.EventName))
		otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	res := e.sender.Send(ctx, req)
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("http.response.status_code", res.Status))
		if !res.Success() {
			span.SetStatus(codes.Error, res.ErrKind)
		}
	}
	a := &store.Attempt{
		URL:             w.URL,
		StartedAt:       at,
		DurationMS:      res.Duration.Milliseconds(),
		RequestHeaders:  redactHeaders(req.Header, w.Headers, e.secret),
		OmittedHeaders:  req.OmittedHeaders,
		RequestBody:     truncate(string(body), 64<<10),
		ResponseStatus:  res.Status,
		ResponseHeaders: flatten(res.Header),
		ResponseBody:    string(res.Body),
		ErrorKind:       res.ErrKind,
		EventData:       ev.Data,
	}
	if res.Err != nil {
		a.Error = res.Err.Error()
	}
	if ctx.Err() != nil && res.Status == 0 {
		return nil, Result{}, false, ctx.Err()
	}
	return a, res, res.Success(), nil
}

// conclude applies an attempt's outcome to d and a: it counts the attempt and sets the
// delivery's new state as the retry policy judges it (retry.go), with the time of its
// next attempt when one is due (the recorder leaves it due then). disable, when not empty, is why the webhook must be taken out of
// delivery.
func (e *Engine) conclude(d *store.Delivery, w *store.Webhook, a *store.Attempt, res Result, ok bool) (disable string) {
	d.Attempts++
	a.ID = NewID("att_")
	a.DeliveryID = d.ID
	a.Number = d.Attempts
	d.LastStatus = res.Status
	d.NextAttemptAt = nil
	v := e.retry.judge(w, d.Attempts, res, ok, a.Error)
	d.Status, d.LastError, disable = v.status, v.lastError, v.disable
	switch v.status {
	case store.DeliverySucceeded:
		now := e.now()
		d.DeliveredAt = &now
	case store.DeliveryPending:
		next := e.now().Add(v.wait)
		d.NextAttemptAt = &next
	}
	if d.Status == store.DeliveryFailed {
		e.log.Info("delivery given up", "delivery", d.ID, "webhook", w.ID, "dialect", w.Dialect, "event", d.EventName,
			"attempts", d.Attempts, "status", res.Status, "error", d.LastError)
	}
	return disable
}

// logTurn logs, at info, what an attempt changed about its endpoint: it started failing,
// its breaker opened, it answers again. A reopened breaker (a failed probe, every pause)
// is logged at debug.
func (e *Engine) logTurn(t turn, w *store.Webhook, a *store.Attempt, res Result) {
	if t == unchanged {
		return
	}
	msg, level := "", slog.LevelInfo
	switch t {
	case nowFailing:
		msg = "endpoint started failing"
	case nowOpen:
		msg = fmt.Sprintf("endpoint failing: breaker open, attempts paused (%d failed in a row)", breakerTrips)
	case reopened:
		msg, level = "endpoint still failing: breaker open again", slog.LevelDebug
	case nowHealthy:
		msg = "endpoint answering again"
	case nowClosed:
		msg = "endpoint answering again: breaker closed"
	}
	e.log.Log(context.Background(), level, msg, "webhook", w.ID, "dialect", w.Dialect, "status", res.Status, "error", a.Error, "duration_ms", a.DurationMS)
}

func flatten(h http.Header) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
