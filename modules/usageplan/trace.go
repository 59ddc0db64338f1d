package usageplan

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gpugate/gpugate/modules/internal/tracing"
)

// admitTraced is App.admit inside the span gpugate.usage_plan.decide (a
// child of the request span when Caddy's tracing directive is on), with the
// plan and outcome as attributes: never the key or its id.
func (h *Handler) admitTraced(r *http.Request, value string) verdict {
	ctx, span := tracing.Start(r.Context(), "gpugate.usage_plan.decide", trace.SpanKindInternal)
	defer span.End()
	v := h.app.admit(ctx, r, value, h.Plans, h.cost)
	plan := noPlan
	if v.plan != nil {
		plan = v.plan.name
	}
	span.SetAttributes(attribute.String("gpugate.usage_plan.plan", plan), attribute.String("gpugate.usage_plan.outcome", v.outcome))
	return v
}
