package usageplan

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Plan is one usage plan: a throttle (with per method+path overrides), a
// quota and a concurrency cap. Zero values mean unlimited.
type Plan struct {
	// Throttle is the plan's default token bucket.
	Throttle *store.Throttle `json:"throttle,omitempty"`
	// ThrottleOverrides replace the default bucket for matching requests;
	// the first match wins.
	ThrottleOverrides []ThrottleOverride `json:"throttle_overrides,omitempty"`
	// Quota is the number of units per calendar window.
	Quota *QuotaConfig `json:"quota,omitempty"`
	// Concurrency caps the in-flight requests per key.
	Concurrency int64 `json:"concurrency,omitempty"`
	// HoldAfterDisconnect keeps a request's concurrency slot for this long
	// after its client hung up (default 0: freed at once), for upstreams
	// that go on working when the gateway drops their request.
	HoldAfterDisconnect caddy.Duration `json:"hold_after_disconnect,omitempty"`
	// Meters count what the upstream reports after each response (GPU
	// time, dollars), by meter name.
	Meters map[string]*MeterConfig `json:"meters,omitempty"`
	// Budgets limit meters per calendar window, checked at admission.
	Budgets []BudgetConfig `json:"budgets,omitempty"`
}

// ThrottleOverride is a per method+path throttle inside a plan.
type ThrottleOverride struct {
	// Method is an HTTP method or "*" for any.
	Method string `json:"method"`
	// Path is a path pattern as in Caddy's path matcher ("/v1/generate",
	// "/jobs/*").
	Path string `json:"path"`
	store.Throttle
}

// QuotaConfig is a quota in the JSON config.
type QuotaConfig struct {
	// Limit is the number of cost units per window.
	Limit int64 `json:"limit"`
	// Period is day, week (starting Monday) or month, in UTC.
	Period store.Period `json:"period"`
	// Offset moves every window start later.
	Offset caddy.Duration `json:"offset,omitempty"`
}

// quota converts the config to the store's form.
func (q *QuotaConfig) quota() *store.Quota {
	if q == nil {
		return nil
	}
	return &store.Quota{Limit: q.Limit, Period: q.Period, Offset: time.Duration(q.Offset)}
}

// StaticKey is an API key declared in the configuration.
type StaticKey struct {
	// Name identifies the key (its id is "static-" + Name).
	Name string `json:"name"`
	// Hash is "sha256:<hex>" of the key value.
	Hash string `json:"hash,omitempty"`
	// Value is the plaintext value, normally a placeholder such as
	// {env.PARTNER_KEY}, resolved at provision time.
	Value string `json:"value,omitempty"`
	// Plans the key belongs to.
	Plans []string `json:"plans"`
	// Disabled keys are refused.
	Disabled bool `json:"disabled,omitempty"`
}

// maxDisconnectHold bounds hold_after_disconnect.
const maxDisconnectHold = 24 * time.Hour

var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	hashPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// validatePlan checks one plan's limits.
func validatePlan(name string, p *Plan) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("plan %q: names use letters, digits, '.', '_' and '-' (at most 64)", name)
	}
	if p == nil {
		return fmt.Errorf("plan %s: empty plan", name)
	}
	if p.Throttle != nil {
		if err := validateThrottle(*p.Throttle); err != nil {
			return fmt.Errorf("plan %s: %w", name, err)
		}
	}
	for _, o := range p.ThrottleOverrides {
		if err := validateThrottle(o.Throttle); err != nil {
			return fmt.Errorf("plan %s: throttle %s %s: %w", name, o.Method, o.Path, err)
		}
		if o.Method != "*" && (o.Method == "" || strings.ToUpper(o.Method) != o.Method) {
			return fmt.Errorf("plan %s: throttle override method %q: write an upper-case HTTP method such as GET, or *", name, o.Method)
		}
		if !strings.HasPrefix(o.Path, "/") && o.Path != "*" {
			return fmt.Errorf("plan %s: throttle override path %q must start with /", name, o.Path)
		}
	}
	if p.Quota != nil {
		if err := p.Quota.quota().Validate(); err != nil {
			return fmt.Errorf("plan %s: %w", name, err)
		}
	}
	if p.Concurrency < 0 {
		return fmt.Errorf("plan %s: concurrency must be at least 1 (omit it for no cap)", name)
	}
	if p.HoldAfterDisconnect < 0 || time.Duration(p.HoldAfterDisconnect) > maxDisconnectHold {
		return fmt.Errorf("plan %s: hold_after_disconnect must be between 0 and %s", name, maxDisconnectHold)
	}
	if p.HoldAfterDisconnect > 0 && p.Concurrency == 0 {
		return fmt.Errorf("plan %s: hold_after_disconnect needs a cap: write concurrency <n> hold_after_disconnect <duration>", name)
	}
	return validateSpend(name, p)
}

func validateThrottle(t store.Throttle) error {
	if t.Rate <= 0 {
		return fmt.Errorf("throttle rate must be more than 0 requests per second")
	}
	if t.Burst < 1 {
		return fmt.Errorf("throttle burst must be at least 1")
	}
	return nil
}
