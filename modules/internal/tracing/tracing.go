// Package tracing is the one way gpugate modules add OpenTelemetry spans:
// children of the request span that Caddy's `tracing` directive starts, made
// with that span's own tracer provider (Caddy's tracing module keeps its
// provider to itself and sets no global one). A request without a span,
// when the tracing directive is not configured, gets no-op spans at the cost
// of one context lookup.
package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentationName names gpugate's tracer (the instrumentation scope of
// its spans).
const InstrumentationName = "github.com/gpugate/gpugate"

// Start starts the span name as a child of the span in ctx, with kind and
// attrs, and returns the context carrying it. The caller ends the span.
// Attributes never hold a key, key id, token or secret.
func Start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		// No tracing: the no-op span, whose End does nothing.
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(InstrumentationName).Start(ctx, name,
		trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}
