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
//	    store memory:// | file:///var/lib/gpugate/usage.db | redis[s][+sentinel|+cluster]://... (internal/redisconn)
//	    on_store_error deny|allow
//	    store_timeout <duration>
//	    plan <name> {
//	        throttle rate <req/s> burst <n>
//	        throttle <METHOD> <path> rate <req/s> burst <n>
//	        quota <n> per day|week|month [offset <duration>]
//	        concurrency <n> [hold_after_disconnect <duration>]
//	        meter <name> <source>... [{ unit seconds|usd; price <usd> per hour|second [gpu <type>...] [path <pattern>] }]
//	        budget <meter> <n> per day|week|month [offset <duration>] [on_exhausted 429|402]
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
		return nil, d.Errf("usage_plans takes a block, not %q; write usage_plans { plan <name> { ... } }", d.Val())
	}
	b := directive.Open(d, "usage_plans").Repeatable("plan", "key")
	for b.Next() {
		var err error
		switch b.Setting() {
		case "store":
			if d.CountRemainingArgs() == 0 {
				return nil, d.Err("usage_plans: store needs a URL: memory://, file:///path/usage.db or redis://host:port/0 (or default)")
			}
			if app.Store, err = b.One("store redis://host:6379/0"); err == nil && app.Store == StoreDefault {
				app.Store = "" // the default file, written out (store {$GPUGATE_USAGE_STORE:default})
			} else if err == nil {
				if err := (&App{Store: app.Store}).checkStore(); err != nil {
					return nil, d.WrapErr(err)
				}
			}
		case "on_store_error":
			if app.OnStoreError, err = b.One("on_store_error deny"); err == nil && app.OnStoreError != "deny" && app.OnStoreError != "allow" {
				err = d.Err("usage_plans: write on_store_error deny or on_store_error allow")
			}
		case "store_timeout":
			app.StoreTimeout, err = b.Duration("store_timeout 100ms")
		case "plan":
			err = parsePlan(b, app)
		case "key":
			err = parseKey(b, app)
		default:
			return nil, b.Unknown("store", "on_store_error", "store_timeout", "plan", "key")
		}
		if err != nil {
			return nil, err
		}
	}
	if err := app.validateConfig(); err != nil {
		return nil, d.WrapErr(err)
	}
	return httpcaddyfile.App{Name: AppName, Value: caddyconfig.JSON(app, nil)}, nil
}

func parsePlan(outer *directive.Block, app *App) error {
	d := outer.Dispenser()
	if !d.NextArg() {
		return d.Err("usage_plans: plan needs a name: plan <name> { ... }")
	}
	name := d.Val()
	if d.NextArg() {
		return d.Errf("usage_plans: plan %s takes a block, not %q; write plan %s { throttle ... }", name, d.Val(), name)
	}
	if _, dup := app.Plans[name]; dup {
		return d.Errf("usage_plans: plan %s is declared twice", name)
	}
	p := new(Plan)
	b := directive.Open(d, "usage_plans plan "+name).Repeatable("throttle", "meter", "budget")
	for b.Next() {
		var err error
		switch b.Setting() {
		case "throttle":
			err = parseThrottleLine(b, name, p)
		case "quota":
			p.Quota, err = parseQuota(b)
		case "concurrency":
			err = parseConcurrency(b, p)
		case "meter":
			err = parseMeter(b, name, p)
		case "budget":
			err = parseBudget(b, p)
		default:
			return b.Unknown("throttle", "quota", "concurrency", "meter", "budget")
		}
		if err != nil {
			return err
		}
	}
	if app.Plans == nil {
		app.Plans = map[string]*Plan{}
	}
	app.Plans[name] = p
	if err := validatePlan(name, p); err != nil {
		return d.Errf("usage_plans: %w", err)
	}
	return nil
}

// parseThrottleLine parses `throttle rate <r> burst <b>` (the plan's
// default bucket) or `throttle <METHOD> <path> rate <r> burst <b>`.
func parseThrottleLine(b *directive.Block, plan string, p *Plan) error {
	d := b.Dispenser()
	args := d.RemainingArgs()
	switch len(args) {
	case 4:
		t, err := parseThrottle(d, args)
		if err != nil {
			return err
		}
		if p.Throttle != nil {
			return d.Errf("usage_plans: plan %s has two default throttles", plan)
		}
		p.Throttle = t
	case 6:
		t, err := parseThrottle(d, args[2:])
		if err != nil {
			return err
		}
		p.ThrottleOverrides = append(p.ThrottleOverrides, ThrottleOverride{Method: strings.ToUpper(args[0]), Path: args[1], Throttle: *t})
	default:
		return d.Err("usage_plans: write throttle rate <req/s> burst <n> or throttle <METHOD> <path> rate <req/s> burst <n>")
	}
	return nil
}

// parseConcurrency parses `concurrency <n> [hold_after_disconnect <d>]`.
func parseConcurrency(b *directive.Block, p *Plan) error {
	d := b.Dispenser()
	args := d.RemainingArgs()
	const usage = "usage_plans: write concurrency <n> [hold_after_disconnect <duration>] with n at least 1 (in-flight requests per key)"
	if len(args) != 1 && (len(args) != 3 || args[1] != "hold_after_disconnect") {
		return d.Err(usage)
	}
	n, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || n < 1 {
		return d.Err(usage)
	}
	p.Concurrency = n
	if len(args) == 3 {
		hold, err := caddy.ParseDuration(args[2])
		if err != nil || hold < 0 || hold > maxDisconnectHold {
			return d.Errf("usage_plans: hold_after_disconnect %q: write a duration from 0s to %s, e.g. hold_after_disconnect 10m", args[2], maxDisconnectHold)
		}
		p.HoldAfterDisconnect = caddy.Duration(hold)
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
func parseQuota(b *directive.Block) (*QuotaConfig, error) {
	d := b.Dispenser()
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
		return nil, d.Errf("usage_plans: %w", err)
	}
	return q, nil
}

func parseKey(outer *directive.Block, app *App) error {
	d := outer.Dispenser()
	if !d.NextArg() {
		return d.Err("usage_plans: key needs a name: key <name> { hash sha256:<hex> plans <plan>... }")
	}
	k := StaticKey{Name: d.Val()}
	b := directive.Open(d, "usage_plans key "+k.Name)
	for b.Next() {
		var err error
		switch b.Setting() {
		case "hash":
			if d.CountRemainingArgs() != 1 {
				return d.Err("usage_plans: write hash sha256:<64 hex digits> (e.g. from: printf %s \"$KEY\" | sha256sum)")
			}
			k.Hash, err = b.One("hash sha256:<hex>")
			k.Hash = strings.ToLower(k.Hash)
		case "value":
			if d.CountRemainingArgs() != 1 {
				return d.Err("usage_plans: write value {env.NAME} (a placeholder keeps the key out of the config)")
			}
			k.Value, _ = b.One("value {env.NAME}")
			if err := directive.CheckSecretPlaceholder("usage_plans: key "+k.Name+" value", k.Value); err != nil {
				return d.Errf("%w (or write hash sha256:<hex>)", err)
			}
		case "plans":
			if d.CountRemainingArgs() == 0 {
				return d.Err("usage_plans: write plans <plan>...")
			}
			k.Plans, err = b.Many("plans basic")
		case "disabled":
			err = b.Flag()
			k.Disabled = true
		default:
			return b.Unknown("hash", "value", "plans", "disabled")
		}
		if err != nil {
			return err
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
//	    skip_budgets
//	}
func parseDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	hd := new(Handler)
	h.Next() // directive name
	hd.Plans = h.RemainingArgs()
	if len(hd.Plans) == 0 {
		return nil, h.Err(errNoPlans.Error())
	}
	b := directive.Open(h.Dispenser, "usage_plan")
	for b.Next() {
		var err error
		switch b.Setting() {
		case "key_source":
			var args []string
			if args, err = b.Args(2, "key_source header <Name>` (or `query <name>`, `placeholder {http.auth.user.plan_key}"); err == nil {
				hd.KeySource = &KeySource{From: args[0], Name: args[1]}
				if verr := hd.KeySource.validate(); verr != nil {
					err = h.WrapErr(verr)
				}
			}
		case "cost":
			var n int64
			if h.CountRemainingArgs() != 1 {
				return nil, h.Err("usage_plan: write cost <n> with a whole number of quota units, 0 or more")
			}
			if n, err = b.Int(0, "cost 10"); err != nil {
				return nil, h.Err("usage_plan: write cost <n> with a whole number of quota units, 0 or more")
			}
			hd.Cost = &n
		case "refund_on":
			if h.CountRemainingArgs() == 0 {
				return nil, h.Err("usage_plan: write refund_on 5xx, refund_on timeout or refund_on 5xx timeout")
			}
			if hd.RefundOn, err = b.Many("refund_on 5xx timeout"); err == nil {
				for _, f := range hd.RefundOn {
					if f != "5xx" && f != "timeout" {
						return nil, h.WrapErr(errRefundOn(f))
					}
				}
			}
		case "hide_ratelimit_headers":
			err = b.Flag()
			hd.HideRateLimitHeaders = true
		case "skip_budgets":
			err = b.Flag()
			hd.SkipBudgets = true
		default:
			return nil, b.Unknown("key_source", "cost", "refund_on", "hide_ratelimit_headers", "skip_budgets")
		}
		if err != nil {
			return nil, err
		}
	}
	declared, ok := declaredPlans(h)
	if !ok {
		return nil, h.Err("usage_plan: no usage plans are configured; add a usage_plans { plan <name> { ... } } global option")
	}
	for _, p := range hd.Plans {
		if _, found := declared[p]; !found {
			return nil, h.WrapErr(errUnknownPlan(p, sortedNames(declared)))
		}
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
