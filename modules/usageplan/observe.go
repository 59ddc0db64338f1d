package usageplan

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
	"github.com/gpugate/gpugate/modules/internal/tracing"
)

// quotaUsedRatio is the share of its quota window a key had used after
// each admitted request, by plan: the "quota nearly used" alert reads the
// requests above 0.9. Per plan only, never per key.
var quotaUsedRatio = gometrics.NewCollector(func() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "gpugate", Subsystem: "usage_plan", Name: "quota_used_ratio",
		Help:    "Share of its quota window the key had used after each admitted request, by plan.",
		Buckets: []float64{.25, .5, .75, .9, .95, .99, 1},
	}, []string{"plan"})
})

// admitObserved is App.admit inside the span gpugate.usage_plan.decide (a
// child of the request span when Caddy's tracing directive is on), with the
// plan and outcome as attributes (never the key or its id), and the quota
// use of an admitted request observed.
func (h *Handler) admitObserved(r *http.Request, value string) verdict {
	ctx, span := tracing.Start(r.Context(), "gpugate.usage_plan.decide", trace.SpanKindInternal)
	defer span.End()
	v := h.app.admit(ctx, r, value, h.Plans, h.cost, !h.SkipBudgets)
	plan := noPlan
	if v.plan != nil {
		plan = v.plan.name
	}
	if span.IsRecording() { // the attributes would be made for nothing otherwise
		span.SetAttributes(attribute.String("gpugate.usage_plan.plan", plan), attribute.String("gpugate.usage_plan.outcome", v.outcome))
	}
	if v.reject == nil && v.counted && v.plan.quota != nil && v.plan.quota.Limit > 0 {
		used := float64(v.plan.quota.Limit-max(v.decision.QuotaRemaining, 0)) / float64(v.plan.quota.Limit)
		v.plan.quotaUsed().Observe(used)
	}
	return v
}
