package usageplan

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Meter units.
const (
	UnitSeconds = "seconds"
	UnitUSD     = "usd"
)

// HeaderSourcePrefix starts a meter source that reads a number from a
// response header the app sets (header:X-Gpu-Seconds).
const HeaderSourcePrefix = "header:"

// meterSources are the readings the upstream modules record.
var meterSources = []string{metering.RunPodExecution, metering.RunPodDelay, metering.RunPodPod, metering.ModalWall}

// MeterConfig is one meter of a plan: what it counts and in which unit.
type MeterConfig struct {
	// Sources are the readings it adds up: runpod_execution, runpod_delay,
	// runpod_pod, modal_wall, or header:<Name> (a number of seconds the app
	// returns in a response header).
	Sources []string `json:"sources"`
	// Unit is seconds (default) or usd, which needs Prices (or only
	// runpod_pod, whose readings carry the pod's own price).
	Unit string `json:"unit,omitempty"`
	// Prices turn seconds into US dollars: the first price whose GPU types
	// or path match a reading; a price naming neither matches all.
	Prices []Price `json:"prices,omitempty"`
}

// Price is one row of a meter's price table.
type Price struct {
	// USDPerHour is the price of an hour (per GPU for pods).
	USDPerHour float64 `json:"usd_per_hour"`
	// GPUTypes, when set, limit the row to these GPU type ids (pods).
	GPUTypes []string `json:"gpu_types,omitempty"`
	// Path, when set, limits the row to request paths matching it (as
	// Caddy's path matcher).
	Path string `json:"path,omitempty"`
}

// BudgetConfig limits one meter's units per UTC calendar window.
type BudgetConfig struct {
	// Meter names the plan's meter.
	Meter string `json:"meter"`
	// Limit is in the meter's unit (GPU-seconds, US dollars).
	Limit float64 `json:"limit"`
	// Period and Offset are the quota's (day, week from Monday, month).
	Period store.Period   `json:"period"`
	Offset caddy.Duration `json:"offset,omitempty"`
	// OnExhausted is the status when the budget has no room: 429 (default,
	// "Limit Exceeded") or 402.
	OnExhausted int `json:"on_exhausted,omitempty"`
}

func (b BudgetConfig) budget() store.Budget {
	return store.Budget{Meter: b.Meter, Quota: store.Quota{Limit: toMicros(b.Limit), Period: b.Period, Offset: time.Duration(b.Offset)}}
}

// toMicros converts units into the store's micro-units, rounding to the
// nearest.
func toMicros(units float64) int64 { return int64(math.Round(units * store.Micro)) }

// fromMicros converts micro-units back.
func fromMicros(m int64) float64 { return float64(m) / store.Micro }

// validateSpend checks a plan's meters and budgets.
func validateSpend(name string, p *Plan) error {
	for mname, m := range p.Meters {
		if !namePattern.MatchString(mname) || strings.Contains(mname, "#") {
			return fmt.Errorf("plan %s: meter %q: names use letters, digits, '.', '_' and '-'", name, mname)
		}
		if m == nil || len(m.Sources) == 0 {
			return fmt.Errorf("plan %s: meter %s counts nothing; write meter %s runpod_execution (or %s)", name, mname, mname, strings.Join(append(meterSources[1:], HeaderSourcePrefix+"<Name>"), ", "))
		}
		onlyPods := true
		for _, src := range m.Sources {
			if h, ok := strings.CutPrefix(src, HeaderSourcePrefix); ok {
				if h == "" || strings.ContainsAny(h, " :\t") {
					return fmt.Errorf("plan %s: meter %s: write header:<Name>, e.g. header:X-Gpu-Seconds", name, mname)
				}
				onlyPods = false
				continue
			}
			if !slices.Contains(meterSources, src) {
				return fmt.Errorf("plan %s: meter %s: unknown source %q; write one of %s or header:<Name>", name, mname, src, strings.Join(meterSources, ", "))
			}
			onlyPods = onlyPods && src == metering.RunPodPod
		}
		switch m.Unit {
		case "", UnitSeconds:
			if len(m.Prices) > 0 {
				return fmt.Errorf("plan %s: meter %s: prices need unit usd", name, mname)
			}
		case UnitUSD:
			if len(m.Prices) == 0 && !onlyPods {
				return fmt.Errorf("plan %s: meter %s: unit usd needs a price, e.g. price 2.49 per hour (only runpod_pod readings carry a price of their own)", name, mname)
			}
		default:
			return fmt.Errorf("plan %s: meter %s: unit %q: write unit seconds or unit usd", name, mname, m.Unit)
		}
		for _, pr := range m.Prices {
			if pr.USDPerHour < 0 || math.IsNaN(pr.USDPerHour) || math.IsInf(pr.USDPerHour, 0) {
				return fmt.Errorf("plan %s: meter %s: a price must be 0 or more US dollars", name, mname)
			}
			if pr.Path != "" && !strings.HasPrefix(pr.Path, "/") {
				return fmt.Errorf("plan %s: meter %s: price path %q must start with /", name, mname, pr.Path)
			}
		}
	}
	seen := map[string]bool{}
	for _, b := range p.Budgets {
		if _, ok := p.Meters[b.Meter]; !ok {
			return fmt.Errorf("plan %s: budget for unknown meter %q; declare it first: meter %s runpod_execution", name, b.Meter, b.Meter)
		}
		if seen[b.Meter] {
			return fmt.Errorf("plan %s: meter %s has two budgets; a meter has at most one (declare a second meter with the same sources for another window)", name, b.Meter)
		}
		seen[b.Meter] = true
		if b.Limit <= 0 || toMicros(b.Limit) > 1<<52 {
			return fmt.Errorf("plan %s: budget %s: the limit must be more than 0 and at most %d units", name, b.Meter, int64(1<<52)/store.Micro)
		}
		if err := b.budget().Quota.Validate(); err != nil {
			return fmt.Errorf("plan %s: budget %s: %w", name, b.Meter, err)
		}
		if b.OnExhausted != 0 && b.OnExhausted != http.StatusTooManyRequests && b.OnExhausted != http.StatusPaymentRequired {
			return fmt.Errorf("plan %s: budget %s: on_exhausted %d: write on_exhausted 429 or on_exhausted 402", name, b.Meter, b.OnExhausted)
		}
	}
	return nil
}

// compiledMeter is a meter ready for the request path.
type compiledMeter struct {
	name    string
	sources []string
	headers []string // the header: sources' names
	usd     bool
	prices  []compiledPrice
	// window counts the units: the meter's budget window (the first
	// budget), or a UTC day without a limit.
	window store.Quota
}

type compiledPrice struct {
	perSecond float64
	gpuTypes  []string
	path      caddyhttp.MatchPath
}

// compileSpend prepares a plan's meters and budgets.
func compileSpend(ctx caddy.Context, cp *compiledPlan, p *Plan) error {
	for _, mname := range sortedMeterNames(p.Meters) {
		m := p.Meters[mname]
		cm := &compiledMeter{name: mname, usd: m.Unit == UnitUSD, window: store.Quota{Limit: -1, Period: store.Day}}
		for _, src := range m.Sources {
			if h, ok := strings.CutPrefix(src, HeaderSourcePrefix); ok {
				cm.headers = append(cm.headers, h)
			} else {
				cm.sources = append(cm.sources, src)
			}
		}
		for _, pr := range m.Prices {
			c := compiledPrice{perSecond: pr.USDPerHour / 3600, gpuTypes: pr.GPUTypes}
			if pr.Path != "" {
				c.path = caddyhttp.MatchPath{pr.Path}
				if err := c.path.Provision(ctx); err != nil {
					return fmt.Errorf("usage_plans: plan %s: meter %s: price path %s: %w", cp.name, mname, pr.Path, err)
				}
			}
			cm.prices = append(cm.prices, c)
		}
		for _, b := range p.Budgets {
			if b.Meter == mname {
				cm.window = b.budget().Quota
				break
			}
		}
		cp.meters = append(cp.meters, cm)
	}
	for _, b := range p.Budgets {
		cp.budgets = append(cp.budgets, b.budget())
		status := b.OnExhausted
		if status == 0 {
			status = http.StatusTooManyRequests
		}
		cp.budgetStatus = append(cp.budgetStatus, status)
	}
	return nil
}

func sortedMeterNames(m map[string]*MeterConfig) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// units is what reading r costs on meter m (in the meter's unit) for a
// request r; ok is false when the meter does not count the reading.
func (m *compiledMeter) units(rd metering.Reading, r *http.Request) (float64, bool) {
	if !slices.Contains(m.sources, rd.Source) {
		return 0, false
	}
	return m.price(rd.Seconds, rd, r), true
}

// price turns seconds of reading rd into the meter's unit.
func (m *compiledMeter) price(seconds float64, rd metering.Reading, r *http.Request) float64 {
	gpus := float64(max(rd.GPUs, 1))
	if !m.usd {
		if rd.Source == metering.RunPodPod {
			return seconds * gpus // GPU-seconds
		}
		return seconds
	}
	for _, p := range m.prices {
		if len(p.gpuTypes) > 0 && !slices.Contains(p.gpuTypes, rd.GPUType) {
			continue
		}
		if p.path != nil && (r == nil || !matchPathOrSlash(p.path, r)) {
			continue
		}
		if rd.Source == metering.RunPodPod {
			return seconds * p.perSecond * gpus
		}
		return seconds * p.perSecond
	}
	if rd.USDPerHour > 0 {
		return seconds * rd.USDPerHour / 3600
	}
	return 0
}
