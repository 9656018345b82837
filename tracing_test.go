package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/polyhook/polyhook/store"
)

// With tracing off nothing is propagated; with a provider installed (as OTEL_* makes
// serve do), an API request, its publish and the delivery attempt each get a span, all in
// the caller's trace (the attempt a child of the publish), and the receiver gets the
// attempt's traceparent.
func TestTracing(t *testing.T) {
	var mu sync.Mutex
	var got []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Traceparent"))
		mu.Unlock()
	}))
	defer rcv.Close()
	dbPath := filepath.Join(t.TempDir(), "trace.db")
	base, _ := startGateway(t, "--db", dbPath, "--admin-token", "tracing-admin-token-for-tests-0123456789", "--allow-targets", "127.0.0.1")
	db := openGatewayStore(t, dbPath)
	w := &store.Webhook{Dialect: "fusionauth", ExternalID: "00000000-0000-4000-8000-0000000071ce", URL: rcv.URL, Enabled: true, Global: true, Events: []string{"user.create"}}
	if err := db.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	publish := func(id string, header http.Header) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/v1/events", strings.NewReader(`{"id":"`+id+`","type":"user.created"}`))
		req.Header.Set("Authorization", "Bearer tracing-admin-token-for-tests-0123456789")
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("publish: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	wait := func(n int) []string {
		t.Helper()
		for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			if len(got) >= n {
				out := append([]string(nil), got...)
				mu.Unlock()
				return out
			}
			mu.Unlock()
		}
		t.Fatalf("delivery %d never arrived", n)
		return nil
	}

	publish("untraced", nil)
	if tp := wait(1)[0]; tp != "" {
		t.Errorf("tracing off, yet the delivery carried traceparent %q", tp)
	}

	exp := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = provider.Shutdown(context.Background()) }()
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.TraceContext{})

	caller := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	publish("traced", http.Header{"Traceparent": {caller}})
	tp := wait(2)[1]
	var spans tracetest.SpanStubs
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		spans = exp.GetSpans()
		if names := spanNames(spans); strings.Contains(names, "attempt") && strings.Contains(names, "POST /v1/events") || time.Since(start) > 5*time.Second {
			break
		}
	}
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	api, ok := byName["POST /v1/events"]
	if !ok || api.SpanKind != trace.SpanKindServer || api.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("no server span in the caller's trace: %s", spanNames(spans))
	}
	pub, ok := byName["publish"]
	if !ok || pub.Parent.SpanID() != api.SpanContext.SpanID() {
		t.Errorf("publish span missing or not the request's child: %s", spanNames(spans))
	}
	att, ok := byName["attempt"]
	if !ok {
		t.Fatalf("no attempt span: %s", spanNames(spans))
	}
	if att.Parent.SpanID() != pub.SpanContext.SpanID() || att.SpanContext.TraceID() != api.SpanContext.TraceID() {
		t.Errorf("the attempt is not the publish's child, in the caller's trace: parent %s", att.Parent.SpanID())
	}
	want := "00-" + att.SpanContext.TraceID().String() + "-" + att.SpanContext.SpanID().String() + "-01"
	if tp != want {
		t.Errorf("the receiver got traceparent %q, want the attempt span's %q", tp, want)
	}
}

func spanNames(ss tracetest.SpanStubs) string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}
