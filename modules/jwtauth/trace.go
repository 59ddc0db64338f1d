package jwtauth

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gpugate/gpugate/modules/internal/tracing"
)

// identifyTraced is identify inside the span gpugate.jwt_auth.verify (a
// child of the request span when Caddy's tracing directive is on), with the
// outcome as its one attribute: never the token, a claim or the user.
func (h *Handler) identifyTraced(ctx context.Context, token string) (*identity, *rejection) {
	ctx, span := tracing.Start(ctx, "gpugate.jwt_auth.verify", trace.SpanKindInternal)
	defer span.End()
	id, rej := h.identify(ctx, token)
	if !span.IsRecording() {
		return id, rej // no tracing: no attributes to make
	}
	result := "ok"
	switch {
	case rej != nil && rej.expired:
		result = "expired"
	case rej != nil:
		result = "invalid"
	}
	span.SetAttributes(attribute.String("gpugate.jwt_auth.result", result))
	return id, rej
}
