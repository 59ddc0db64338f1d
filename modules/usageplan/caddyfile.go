package usageplan

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/directive"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("usage_plans", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("usage_plan", parseDirective)
	httpcaddyfile.RegisterDirectiveOrder("usage_plan", httpcaddyfile.After, "forward_auth")
}

// parseGlobalOption parses the usage_plans global option:
//
//	usage_plans {
//	    store memory:// | file:///var/lib/gpugate/usage.db | redis://[:password@]host:port/db | rediss://...
//	    on_store_error deny|allow
//	    store_timeout <duration>
//	    plan <name> {
//	        throttle rate <req/s> burst <n>
//	        throttle <METHOD> <path> rate <req/s> burst <n>
//	        quota <n> per day|week|month [offset <duration>]
//	        concurrency <n>
//	    }
//	    key <name> {
//	        hash sha256:<hex> | value {env.X} | value {file./path}
//	        plans <plan>...
//	        disabled
//	    }
//	}
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("usage_plans: the global option appears twice; merge the blocks into one")
	}
	app := new(App)
	d.Next() // option name
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "store":
			if !d.NextArg() {
				return nil, d.Err("usage_plans: store needs a URL: memory://, file:///path/usage.db or redis://host:port/0")
			}
			app.Store = d.Val()
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			if err := checkStoreURL(caddy.NewReplacer().ReplaceKnown(app.Store, "")); err != nil {
				return nil, d.Err(err.Error())
			}
		case "on_store_error":
			if !d.NextArg() || (d.Val() != "deny" && d.Val() != "allow") {
				return nil, d.Err("usage_plans: write on_store_error deny or on_store_error allow")
			}
			app.OnStoreError = d.Val()
			if d.NextArg() {
				return nil, d.ArgErr()
			}
		case "store_timeout":
			if !d.NextArg() {
				return nil, d.Err("usage_plans: store_timeout needs a duration, e.g. store_timeout 100ms")
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil || dur <= 0 {
				return nil, d.Errf("usage_plans: store_timeout %q: write a positive duration such as 100ms", d.Val())
			}
			app.StoreTimeout = caddy.Duration(dur)
			if d.NextArg() {
				return nil, d.ArgErr()
			}
		case "plan":
			if err := parsePlan(d, app); err != nil {
				return nil, err
			}
		case "key":
			if err := parseKey(d, app); err != nil {
				return nil, err
			}
		default:
			return nil, d.Errf("usage_plans: unknown subdirective %q; use store, on_store_error, store_timeout, plan or key", d.Val())
		}
	}
	if err := app.validateConfig(); err != nil {
		return nil, d.Err(err.Error())
	}
	return httpcaddyfile.App{Name: AppName, Value: caddyconfig.JSON(app, nil)}, nil
}

func parsePlan(d *caddyfile.Dispenser, app *App) error {
	if !d.NextArg() {
		return d.Err("usage_plans: plan needs a name: plan <name> { ... }")
	}
	name := d.Val()
	if _, dup := app.Plans[name]; dup {
		return d.Errf("usage_plans: plan %s is declared twice", name)
	}
	p := new(Plan)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "throttle":
			args := d.RemainingArgs()
			switch {
			case len(args) == 4:
				t, err := parseThrottle(d, args)
				if err != nil {
					return err
				}
				if p.Throttle != nil {
					return d.Errf("usage_plans: plan %s has two default throttles", name)
				}
				p.Throttle = t
			case len(args) == 6:
				t, err := parseThrottle(d, args[2:])
				if err != nil {
					return err
				}
				p.ThrottleOverrides = append(p.ThrottleOverrides, ThrottleOverride{Method: strings.ToUpper(args[0]), Path: args[1], Throttle: *t})
			default:
				return d.Err("usage_plans: write throttle rate <req/s> burst <n> or throttle <METHOD> <path> rate <req/s> burst <n>")
			}
		case "quota":
			q, err := parseQuota(d)
			if err != nil {
				return err
			}
			p.Quota = q
		case "concurrency":
			args := d.RemainingArgs()
			n, err := strconv.ParseInt(strings.Join(args, " "), 10, 64)
			if len(args) != 1 || err != nil || n < 1 {
				return d.Err("usage_plans: write concurrency <n> with n at least 1 (in-flight requests per key)")
			}
			p.Concurrency = n
		default:
			return d.Errf("usage_plans: plan %s: unknown setting %q; use throttle, quota or concurrency", name, d.Val())
		}
	}
	if app.Plans == nil {
		app.Plans = map[string]*Plan{}
	}
	app.Plans[name] = p
	if err := validatePlan(name, p); err != nil {
		return d.Err("usage_plans: " + err.Error())
	}
	return nil
}

// parseThrottle parses "rate <req/s> burst <n>".
func parseThrottle(d *caddyfile.Dispenser, args []string) (*store.Throttle, error) {
	if args[0] != "rate" || args[2] != "burst" {
		return nil, d.Err("usage_plans: write throttle [<METHOD> <path>] rate <req/s> burst <n>")
	}
	rate, err := strconv.ParseFloat(args[1], 64)
	if err != nil || rate <= 0 {
		return nil, d.Errf("usage_plans: throttle rate %q: write a number of requests per second above 0, e.g. rate 10 or rate 0.5", args[1])
	}
	burst, err := strconv.ParseInt(args[3], 10, 64)
	if err != nil || burst < 1 {
		return nil, d.Errf("usage_plans: throttle burst %q: write a whole number of requests, at least 1", args[3])
	}
	return &store.Throttle{Rate: rate, Burst: burst}, nil
}

// parseQuota parses "quota <n> per day|week|month [offset <duration>]".
func parseQuota(d *caddyfile.Dispenser) (*QuotaConfig, error) {
	args := d.RemainingArgs()
	const usage = "usage_plans: write quota <n> per day|week|month [offset <duration>]"
	if (len(args) != 3 && len(args) != 5) || args[1] != "per" {
		return nil, d.Err(usage)
	}
	n, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || n < 0 {
		return nil, d.Errf("usage_plans: quota %q: write a whole number of units, 0 or more", args[0])
	}
	q := &QuotaConfig{Limit: n, Period: store.Period(args[2])}
	if len(args) == 5 {
		if args[3] != "offset" {
			return nil, d.Err(usage)
		}
		off, err := caddy.ParseDuration(args[4])
		if err != nil {
			return nil, d.Errf("usage_plans: quota offset %q: write a duration such as 8h", args[4])
		}
		q.Offset = caddy.Duration(off)
	}
	if err := q.quota().Validate(); err != nil {
		return nil, d.Err("usage_plans: " + err.Error())
	}
	return q, nil
}

func parseKey(d *caddyfile.Dispenser, app *App) error {
	if !d.NextArg() {
		return d.Err("usage_plans: key needs a name: key <name> { hash sha256:<hex> plans <plan>... }")
	}
	k := StaticKey{Name: d.Val()}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "hash":
			if !d.NextArg() {
				return d.Err("usage_plans: write hash sha256:<64 hex digits> (e.g. from: printf %s \"$KEY\" | sha256sum)")
			}
			k.Hash = strings.ToLower(d.Val())
		case "value":
			if !d.NextArg() {
				return d.Err("usage_plans: write value {env.NAME} (a placeholder keeps the key out of the config)")
			}
			k.Value = d.Val()
			if err := directive.CheckSecretPlaceholder("usage_plans: key "+k.Name+" value", k.Value); err != nil {
				return d.Err(err.Error() + " (or write hash sha256:<hex>)")
			}
		case "plans":
			k.Plans = d.RemainingArgs()
			if len(k.Plans) == 0 {
				return d.Err("usage_plans: write plans <plan>...")
			}
		case "disabled":
			k.Disabled = true
		default:
			return d.Errf("usage_plans: key %s: unknown setting %q; use hash, value, plans or disabled", k.Name, d.Val())
		}
	}
	app.Keys = append(app.Keys, k)
	return nil
}

// parseDirective parses the usage_plan directive:
//
//	usage_plan [<matcher>] <plan>... {
//	    key_source header <Name> | query <name> | placeholder {http.auth.user.plan_key}
//	    cost <n>
//	    refund_on 5xx timeout
//	    hide_ratelimit_headers
//	}
func parseDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	hd := new(Handler)
	h.Next() // directive name
	hd.Plans = h.RemainingArgs()
	if len(hd.Plans) == 0 {
		return nil, h.Err(errNoPlans.Error())
	}
	for h.NextBlock(0) {
		switch h.Val() {
		case "key_source":
			args := h.RemainingArgs()
			if len(args) != 2 {
				return nil, h.Err("usage_plan: write key_source header <Name>, key_source query <name> or key_source placeholder {http.auth.user.plan_key}")
			}
			hd.KeySource = &KeySource{From: args[0], Name: args[1]}
			if err := hd.KeySource.validate(); err != nil {
				return nil, h.Err(err.Error())
			}
		case "cost":
			args := h.RemainingArgs()
			n, err := strconv.ParseInt(strings.Join(args, " "), 10, 64)
			if len(args) != 1 || err != nil || n < 0 {
				return nil, h.Err("usage_plan: write cost <n> with a whole number of quota units, 0 or more")
			}
			hd.Cost = &n
		case "refund_on":
			hd.RefundOn = h.RemainingArgs()
			if len(hd.RefundOn) == 0 {
				return nil, h.Err("usage_plan: write refund_on 5xx, refund_on timeout or refund_on 5xx timeout")
			}
			for _, f := range hd.RefundOn {
				if f != "5xx" && f != "timeout" {
					return nil, h.Err(errRefundOn(f).Error())
				}
			}
		case "hide_ratelimit_headers":
			hd.HideRateLimitHeaders = true
		default:
			return nil, h.Errf("usage_plan: unknown setting %q; use key_source, cost, refund_on or hide_ratelimit_headers", h.Val())
		}
	}
	if declared, ok := declaredPlans(h); ok {
		for _, p := range hd.Plans {
			if _, found := declared[p]; !found {
				return nil, h.Err(errUnknownPlan(p, sortedNames(declared)).Error())
			}
		}
	} else {
		return nil, h.Err("usage_plan: no usage plans are configured; add a usage_plans { plan <name> { ... } } global option")
	}
	return hd, nil
}

// declaredPlans reads the plans of the usage_plans global option, so an
// unknown plan fails at adapt time.
func declaredPlans(h httpcaddyfile.Helper) (map[string]*Plan, bool) {
	opt, ok := h.Option("usage_plans").(httpcaddyfile.App)
	if !ok {
		return nil, false
	}
	var app App
	if err := json.Unmarshal(opt.Value, &app); err != nil {
		return nil, false
	}
	return app.Plans, true
}

func sortedNames(m map[string]*Plan) []string {
	a := App{Plans: m}
	return a.planNames()
}
