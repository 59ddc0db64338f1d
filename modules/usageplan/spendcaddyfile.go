package usageplan

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/internal/directive"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// StoreDefault is the store value that means the default file in Caddy's
// data directory, so a Caddyfile can default an environment variable to it:
// store {$GPUGATE_USAGE_STORE:default}.
const StoreDefault = "default"

// parseMeter parses
//
//	meter <name> <source>... [{
//	    unit seconds|usd
//	    price <usd> per hour|second [gpu <type>...] [path <pattern>]
//	}]
func parseMeter(outer *directive.Block, plan string, p *Plan) error {
	d := outer.Dispenser()
	args := d.RemainingArgs()
	if len(args) < 2 {
		return d.Err("usage_plans: write meter <name> <source>..., e.g. meter gpu_seconds runpod_execution (sources: runpod_execution, runpod_delay, runpod_pod, modal_wall, header:<Name>)")
	}
	name := args[0]
	if _, dup := p.Meters[name]; dup {
		return d.Errf("usage_plans: plan %s: meter %s is declared twice", plan, name)
	}
	m := &MeterConfig{Sources: args[1:]}
	b := directive.Open(d, "usage_plans plan "+plan+" meter "+name).Repeatable("price")
	for b.Next() {
		var err error
		switch b.Setting() {
		case "unit":
			m.Unit, err = b.One("unit usd")
		case "price":
			err = parsePrice(b, m)
		default:
			return b.Unknown("unit", "price")
		}
		if err != nil {
			return err
		}
	}
	if p.Meters == nil {
		p.Meters = map[string]*MeterConfig{}
	}
	p.Meters[name] = m
	return nil
}

// parsePrice parses price <usd> per hour|second [gpu <type>...] [path <pattern>].
func parsePrice(b *directive.Block, m *MeterConfig) error {
	d := b.Dispenser()
	args := d.RemainingArgs()
	const usage = "usage_plans: write price <usd> per hour|second [gpu <type>...] [path <pattern>], e.g. price 2.49 per hour gpu \"NVIDIA A100 80GB PCIe\""
	if len(args) < 3 || args[1] != "per" || (args[2] != "hour" && args[2] != "second") {
		return d.Err(usage)
	}
	usd, err := strconv.ParseFloat(strings.TrimPrefix(args[0], "$"), 64)
	if err != nil || usd < 0 {
		return d.Errf("usage_plans: price %q: write a number of US dollars, e.g. 2.49", args[0])
	}
	pr := Price{USDPerHour: usd}
	if args[2] == "second" {
		pr.USDPerHour = usd * 3600
	}
	for rest := args[3:]; len(rest) > 0; {
		switch rest[0] {
		case "gpu":
			rest = rest[1:]
			for len(rest) > 0 && rest[0] != "path" {
				pr.GPUTypes = append(pr.GPUTypes, rest[0])
				rest = rest[1:]
			}
			if len(pr.GPUTypes) == 0 {
				return d.Err(usage)
			}
		case "path":
			if len(rest) < 2 || pr.Path != "" {
				return d.Err(usage)
			}
			pr.Path, rest = rest[1], rest[2:]
		default:
			return d.Err(usage)
		}
	}
	m.Prices = append(m.Prices, pr)
	return nil
}

// parseBudget parses budget <meter> <n> per day|week|month [offset <d>]
// [on_exhausted 429|402].
func parseBudget(b *directive.Block, p *Plan) error {
	d := b.Dispenser()
	args := d.RemainingArgs()
	const usage = "usage_plans: write budget <meter> <n> per day|week|month [offset <duration>] [on_exhausted 429|402], e.g. budget gpu_seconds 3600 per day"
	if len(args) < 4 || args[2] != "per" {
		return d.Err(usage)
	}
	limit, err := strconv.ParseFloat(args[1], 64)
	if err != nil || limit <= 0 {
		return d.Errf("usage_plans: budget %s %q: write a number of units above 0 (GPU-seconds, US dollars)", args[0], args[1])
	}
	bc := BudgetConfig{Meter: args[0], Limit: limit, Period: store.Period(args[3])}
	for rest := args[4:]; len(rest) > 0; rest = rest[2:] {
		if len(rest) < 2 {
			return d.Err(usage)
		}
		switch rest[0] {
		case "offset":
			off, err := caddy.ParseDuration(rest[1])
			if err != nil {
				return d.Errf("usage_plans: budget offset %q: write a duration such as 8h", rest[1])
			}
			bc.Offset = caddy.Duration(off)
		case "on_exhausted":
			if rest[1] != "429" && rest[1] != "402" {
				return d.Err("usage_plans: write on_exhausted 429 or on_exhausted 402")
			}
			bc.OnExhausted, _ = strconv.Atoi(rest[1])
		default:
			return d.Err(usage)
		}
	}
	if err := bc.budget().Quota.Validate(); err != nil {
		return d.Errf("usage_plans: budget %s: %w", bc.Meter, err)
	}
	p.Budgets = append(p.Budgets, bc)
	return nil
}
