package usageplan

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/internal/directive"
	"github.com/gpugate/gpugate/modules/internal/redisconn"
	"github.com/gpugate/gpugate/modules/internal/upstream"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

func init() {
	caddy.RegisterModule(App{})
}

// AppName is the Caddy app ID of the usage_plans global option (module
// IDs carry the gpugate_ prefix; the option name stays short).
const AppName = "gpugate_usage_plans"

// Defaults of the app.
const (
	DefaultStoreTimeout = 100 * time.Millisecond
	defaultStoreFile    = "usage-plans.db"
)

// App holds the usage plans, the static keys and the store shared by every
// usage_plan handler. It is configured with the usage_plans global option.
type App struct {
	// Store is the state URL: memory://, file:///path, redis://... or
	// rediss://... Default: file://<Caddy data dir>/usage-plans.db. Global
	// placeholders are expanded, so a password can come from {env.X}.
	Store string `json:"store,omitempty"`
	// OnStoreError is "deny" (default, 503) or "allow" (admit without
	// counting) when the store fails or times out.
	OnStoreError string `json:"on_store_error,omitempty"`
	// StoreTimeout bounds each store call on the request path (default
	// 100ms).
	StoreTimeout caddy.Duration `json:"store_timeout,omitempty"`
	// Plans by name.
	Plans map[string]*Plan `json:"plans,omitempty"`
	// Keys declared in the configuration.
	Keys []StaticKey `json:"keys,omitempty"`

	// opened holds a storeBox once Start has opened the store; st()
	// answers errStoreNotReady before.
	opened      atomic.Value
	storeID     string
	storeKind   string
	plans       map[string]*compiledPlan
	static      map[string]store.Key // by hash
	staticByID  map[string]store.Key
	metrics     *metrics
	logger      *zap.Logger
	storeErrors *storeErrorLog
	// keyRefusals logs refused expired and rotated-out keys (rate-bound).
	keyRefusals *storeErrorLog
	now         func() time.Time
	// onStoreError receives the store's background errors.
	onStoreError func(error)
	// afterFunc runs a delayed release (time.AfterFunc; tests inject).
	afterFunc func(time.Duration, func())
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: AppName, New: func() caddy.Module { return new(App) }}
}

// compiledPlan is a Plan ready for the request path.
type compiledPlan struct {
	name        string
	throttle    *store.Throttle
	overrides   []compiledOverride
	quota       *store.Quota
	concurrency int64
	// disconnectHold keeps the slot of a request whose client hung up.
	disconnectHold time.Duration
	// meters are charged after the response; budgets checked at admission
	// (budgetStatus: the status of each budget's exhaustion).
	meters       []*compiledMeter
	budgets      []store.Budget
	budgetStatus []int
	// series are the plan's metric series of every admitted request.
	series planSeries
	// policy is the last RateLimit-Policy value (ratelimit.go).
	policy atomic.Pointer[rateLimitPolicy]
}

type compiledOverride struct {
	method   string
	path     caddyhttp.MatchPath
	bucket   string
	throttle *store.Throttle
}

// Provision compiles the plans and resolves the static keys. The store is
// opened in Start, which `caddy validate` does not call: validating a
// config never touches (nor waits on the lock of) a running gateway's
// store file.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	if a.now == nil {
		a.now = time.Now
	}
	if a.afterFunc == nil {
		a.afterFunc = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	if err := a.validateConfig(); err != nil {
		return err
	}
	if err := a.compilePlans(ctx); err != nil {
		return err
	}
	if err := a.resolveStaticKeys(); err != nil {
		return err
	}
	m, err := registerMetrics(ctx.GetMetricsRegistry())
	if err != nil {
		return fmt.Errorf("usage_plans: registering metrics: %w", err)
	}
	a.metrics = m
	a.storeErrors = &storeErrorLog{logger: a.logger, now: time.Now}
	a.keyRefusals = &storeErrorLog{logger: a.logger, now: time.Now}
	kind := storeKind(a.storeURL())
	a.onStoreError = func(err error) {
		m.storeErrors.WithLabelValues(kind, opBackground).Inc()
		a.logger.Warn("usage plans store background error", zap.Error(err))
	}
	a.storeKind = storeKind(a.storeURL())
	return nil
}

// storeBox is what App.opened holds.
type storeBox struct{ store.Store }

// st is the open store, or one that answers errStoreNotReady for every
// call before Start (handlers then answer as on_store_error says, and a
// stored key is never admitted).
func (a *App) st() store.Store {
	if b, ok := a.opened.Load().(storeBox); ok {
		return b.Store
	}
	return notReady{}
}

// storeURL is the configured store, or the default file in Caddy's data
// directory. Global placeholders are expanded in a file path here; a Redis
// URL keeps them, for the Redis store resolves each part on its own (a
// password from {env.REDIS_PASSWORD} then needs no URL encoding).
func (a *App) storeURL() string {
	if redisconn.IsRedisURL(a.Store) {
		return a.Store
	}
	if a.Store != "" {
		return caddy.NewReplacer().ReplaceKnown(a.Store, "")
	}
	return "file://" + caddy.AppDataDir() + "/" + defaultStoreFile
}

// checkStore validates the configured store URL. A store written as one
// placeholder ({env.GPUGATE_REDIS_URL}) that resolves to nothing here (say,
// `caddy adapt` on a build machine) is checked when the store opens; a Redis
// password must be a placeholder, never literal.
func (a *App) checkStore() error {
	if redisconn.IsRedisURL(a.Store) && redisconn.HasLiteralSecret(a.Store) {
		return fmt.Errorf("usage_plans: store: the Redis URL carries a literal password; write it as a placeholder, e.g. redis://:{env.REDIS_PASSWORD}@host:6379/0 or store {env.GPUGATE_REDIS_URL}")
	}
	resolved := a.storeURL()
	if resolved == "" && directive.CheckSecretPlaceholder("", a.Store) == nil {
		return nil
	}
	return checkStoreURL(resolved)
}

func (a *App) storeTimeout() time.Duration {
	if a.StoreTimeout > 0 {
		return time.Duration(a.StoreTimeout)
	}
	return DefaultStoreTimeout
}

// validateConfig checks everything that needs no I/O; Provision and
// Validate both use it.
func (a *App) validateConfig() error {
	switch a.OnStoreError {
	case "", "deny", "allow":
	default:
		return fmt.Errorf("usage_plans: on_store_error %q: write deny or allow", a.OnStoreError)
	}
	if err := a.checkStore(); err != nil {
		return err
	}
	for name, p := range a.Plans {
		if err := validatePlan(name, p); err != nil {
			return fmt.Errorf("usage_plans: %w", err)
		}
	}
	seen := map[string]bool{}
	for _, k := range a.Keys {
		if !namePattern.MatchString(k.Name) {
			return fmt.Errorf("usage_plans: key %q: names use letters, digits, '.', '_' and '-'", k.Name)
		}
		if seen[k.Name] {
			return fmt.Errorf("usage_plans: key %s is declared twice", k.Name)
		}
		seen[k.Name] = true
		if (k.Hash == "") == (k.Value == "") {
			return fmt.Errorf("usage_plans: key %s: write exactly one of hash sha256:<hex> or value {env.NAME}", k.Name)
		}
		if k.Value != "" {
			if err := directive.CheckSecretPlaceholder("usage_plans: key "+k.Name+" value", k.Value); err != nil {
				return fmt.Errorf("%w (or write hash sha256:<hex>)", err)
			}
		}
		if k.Hash != "" && !hashPattern.MatchString(k.Hash) {
			return fmt.Errorf("usage_plans: key %s: hash must be sha256: followed by 64 lower-case hex digits", k.Name)
		}
		if len(k.Plans) == 0 {
			return fmt.Errorf("usage_plans: key %s has no plans; add a line such as: plans basic", k.Name)
		}
		for _, p := range k.Plans {
			if _, ok := a.Plans[p]; !ok {
				return fmt.Errorf("usage_plans: key %s: unknown plan %q (declared plans: %s)", k.Name, p, strings.Join(a.planNames(), ", "))
			}
		}
	}
	return nil
}

// Validate checks the configuration without side effects.
func (a *App) Validate() error { return a.validateConfig() }

func (a *App) planNames() []string {
	names := make([]string, 0, len(a.Plans))
	for n := range a.Plans {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (a *App) compilePlans(ctx caddy.Context) error {
	a.plans = make(map[string]*compiledPlan, len(a.Plans))
	for name, p := range a.Plans {
		cp := &compiledPlan{name: name, throttle: p.Throttle, quota: p.Quota.quota(), concurrency: p.Concurrency,
			disconnectHold: time.Duration(p.HoldAfterDisconnect)}
		for _, o := range p.ThrottleOverrides {
			mp := caddyhttp.MatchPath{o.Path}
			if err := mp.Provision(ctx); err != nil {
				return fmt.Errorf("usage_plans: plan %s: throttle path %s: %w", name, o.Path, err)
			}
			t := o.Throttle
			cp.overrides = append(cp.overrides, compiledOverride{method: o.Method, path: mp, bucket: o.Method + " " + o.Path, throttle: &t})
		}
		if err := compileSpend(ctx, cp, p); err != nil {
			return err
		}
		a.plans[name] = cp
	}
	return nil
}

// resolveStaticKeys hashes the configured keys; a value placeholder is
// resolved here and never kept in plaintext.
func (a *App) resolveStaticKeys() error {
	a.static = make(map[string]store.Key, len(a.Keys))
	a.staticByID = make(map[string]store.Key, len(a.Keys))
	for _, k := range a.Keys {
		hash := strings.TrimPrefix(k.Hash, "sha256:")
		if k.Value != "" {
			v, err := upstream.ResolveSecret("usage_plans key "+k.Name+" value", k.Value)
			if err != nil {
				return err
			}
			hash = HashKey(v)
		}
		if _, dup := a.static[hash]; dup {
			return fmt.Errorf("usage_plans: key %s has the same value as another key", k.Name)
		}
		rec := store.Key{ID: staticKeyID(k.Name), Name: k.Name, Hash: hash, Enabled: !k.Disabled,
			Plans: append([]string(nil), k.Plans...)}
		a.static[hash] = rec
		a.staticByID[rec.ID] = rec
	}
	return nil
}

// staticKeyID is the public id of a configured key.
func staticKeyID(name string) string { return "static-" + name }

// Cleanup releases this config's hold on the store; the store closes when
// no config uses it any more. Safe after a failed Provision.
func (a *App) Cleanup() error {
	if a.storeID == "" {
		return nil
	}
	a.opened.Store(storeBox{notReady{}})
	_, err := stores.Delete(a.storeID)
	a.storeID = ""
	return err
}

// Start opens the store, or reuses the one the previous config opened:
// during a reload the new config starts before the old one is cleaned up,
// so the pooled store (counters, file lock, Redis connections) stays open
// and is shared by both until the old config lets go.
func (a *App) Start() error {
	if a.storeID != "" {
		return nil
	}
	st, id, err := acquireStore(a.storeURL(), a.storeTimeout(), a.onStoreError)
	if err != nil {
		return err
	}
	a.storeID = id
	a.opened.Store(storeBox{st})
	return nil
}

// Stop implements caddy.App.
func (a *App) Stop() error { return nil }

// loadApp returns the usage_plans app for a module provisioned in ctx.
func loadApp(ctx caddy.Context, who string) (*App, error) {
	app, err := ctx.AppIfConfigured(AppName)
	if errors.Is(err, caddy.ErrNotConfigured) {
		return nil, fmt.Errorf("%s: no usage plans are configured; add a usage_plans { plan <name> { ... } } global option", who)
	}
	if err != nil {
		return nil, err
	}
	return app.(*App), nil
}

var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
