package usageplan

import (
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// MeteredPlaceholderPrefix starts the placeholders of the units one request
// was charged, per meter: {http.usage_plan.metered.gpu_seconds} (for the
// access log, e.g. with log_append).
const MeteredPlaceholderPrefix = "http.usage_plan.metered."

// meterGroup is the units of one once-id (or of none) on each meter.
type meterGroup struct {
	once  string
	units []float64 // by meter index
}

// chargeMeters charges the plan's meters with what the response reported:
// the upstream module's readings and the header sources. Readings of one
// job id are charged once per key and plan, however often the job is read.
// The response is flushed first, so the client never waits for the store.
func (a *App) chargeMeters(w http.ResponseWriter, r *http.Request, v verdict, readings []metering.Reading, header http.Header) {
	meters := v.plan.meters
	var groups []meterGroup
	group := func(once string) *meterGroup {
		for i := range groups {
			if groups[i].once == once {
				return &groups[i]
			}
		}
		groups = append(groups, meterGroup{once: once, units: make([]float64, len(meters))})
		return &groups[len(groups)-1]
	}
	for _, rd := range readings {
		for i, m := range meters {
			if u, ok := m.units(rd, r); ok && u > 0 {
				group(rd.Once).units[i] += u
			}
		}
	}
	for i, m := range meters {
		for _, name := range m.headers {
			secs, err := strconv.ParseFloat(header.Get(name), 64)
			if err == nil && secs > 0 && secs < 1e9 {
				group("").units[i] += m.price(secs, metering.Reading{Source: HeaderSourcePrefix + name}, r)
			}
		}
	}
	if len(groups) == 0 {
		return
	}
	_ = http.NewResponseController(w).Flush()
	totals := make([]float64, len(meters))
	now := a.now()
	for _, g := range groups {
		c := store.MeterCharge{KeyID: v.key.ID, Plan: v.plan.name, Once: g.once, Now: now}
		for i, u := range g.units {
			if micros := toMicros(u); micros > 0 {
				c.Units = append(c.Units, store.MeterUnits{Meter: meters[i].name, Units: micros, Window: meters[i].window})
			}
		}
		if len(c.Units) == 0 {
			continue
		}
		ctx, cancel := a.backgroundContext(r.Context())
		charged, err := v.store.ChargeMeters(ctx, c)
		cancel()
		if err != nil {
			a.metrics.storeErrors.WithLabelValues(a.storeKind, opMeter).Inc()
			a.storeErrors.warn("usage plans: charging a meter failed", zap.String("plan", v.plan.name), zap.Error(err))
			continue
		}
		if !charged {
			continue
		}
		for i, u := range g.units {
			totals[i] += fromMicros(toMicros(u))
		}
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	for i, m := range meters {
		if totals[i] <= 0 {
			continue
		}
		a.metrics.meteredUnits.WithLabelValues(v.plan.name, m.name).Add(totals[i])
		if repl != nil {
			repl.Set(MeteredPlaceholderPrefix+m.name, strconv.FormatFloat(totals[i], 'f', -1, 64))
		}
	}
}
