package authcache

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	lru "github.com/hashicorp/golang-lru/v2"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// DefaultMaxEntries bounds the cache when max_entries is not set.
const DefaultMaxEntries = 10000

// Handler runs its routes (the authorizer, e.g. forward_auth) for a
// credential it has not seen within TTL, and remembers the listed request
// headers those routes set when they let the request through. A request
// with a remembered credential gets those headers without running the
// routes. A request the routes refuse is answered by them and not
// remembered.
type Handler struct {
	// Key holds the placeholders whose values identify the caller, e.g.
	// {http.request.header.Authorization}; an empty key skips the cache.
	Key []string `json:"key"`
	// TTL is how long an authorizer answer is reused.
	TTL caddy.Duration `json:"ttl"`
	// Headers are the request headers the routes set and the cache
	// restores (forward_auth's copy_headers).
	Headers []string `json:"headers"`
	// MaxEntries bounds the cache (least recently used entries go first);
	// default DefaultMaxEntries.
	MaxEntries int `json:"max_entries,omitempty"`
	// Routes are run on a miss.
	Routes caddyhttp.RouteList `json:"routes"`

	cache   *lru.Cache[cacheKey, entry]
	now     func() time.Time
	metrics *metrics
}

// cacheKey is the SHA-256 of the key's values: the cache holds no
// credential text.
type cacheKey [sha256.Size]byte

// entry is a remembered answer.
type entry struct {
	values  []string // one per Headers item, "" when the routes set none
	expires time.Time
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gpugate_auth_cache", New: func() caddy.Module { return new(Handler) }}
}

// Provision provisions the routes and creates the cache.
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.MaxEntries == 0 {
		h.MaxEntries = DefaultMaxEntries
	}
	for i, name := range h.Headers {
		h.Headers[i] = textproto.CanonicalMIMEHeaderKey(name)
	}
	if err := h.validate(); err != nil {
		return err
	}
	cache, err := lru.New[cacheKey, entry](h.MaxEntries)
	if err != nil {
		return fmt.Errorf("auth_cache: %v", err)
	}
	h.cache = cache
	if h.now == nil {
		h.now = time.Now
	}
	if h.metrics, err = newMetrics(ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	return h.Routes.Provision(ctx)
}

// Validate checks the configuration.
func (h *Handler) Validate() error { return h.validate() }

func (h *Handler) validate() error {
	if len(h.Key) == 0 {
		return errors.New("auth_cache: write key <placeholder>..., e.g. key {http.request.header.Authorization}")
	}
	for _, k := range h.Key {
		if !strings.HasPrefix(k, "{") || !strings.HasSuffix(k, "}") {
			return fmt.Errorf("auth_cache: key %q: write placeholders such as {http.request.header.Authorization}", k)
		}
	}
	if h.TTL <= 0 {
		return errors.New("auth_cache: write ttl <duration> above 0, e.g. ttl 5m (API Gateway's default is 300s)")
	}
	if len(h.Headers) == 0 {
		return errors.New("auth_cache: write headers <Header>... naming the request headers the authorizer sets (forward_auth's copy_headers)")
	}
	if h.MaxEntries < 0 {
		return errors.New("auth_cache: max_entries must be at least 1")
	}
	if len(h.Routes) == 0 {
		return errors.New("auth_cache: put the authorizer inside the block, e.g. forward_auth <upstream> { uri /auth copy_headers ... }")
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	key, ok := h.keyOf(repl)
	if !ok {
		h.metrics.lookups.WithLabelValues("no_key").Inc()
		return h.Routes.Compile(next).ServeHTTP(w, r)
	}
	e, hit := h.cache.Get(key)
	if hit && !h.now().Before(e.expires) {
		h.cache.Remove(key)
		hit = false
	}
	if hit {
		h.metrics.lookups.WithLabelValues("hit").Inc()
		for i, name := range h.Headers {
			r.Header.Del(name) // a client's own copy never survives
			if e.values[i] != "" {
				r.Header.Set(name, e.values[i])
			}
		}
		return next.ServeHTTP(w, r)
	}
	h.metrics.lookups.WithLabelValues("miss").Inc()
	remember := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		fresh := entry{values: make([]string, len(h.Headers)), expires: h.now().Add(time.Duration(h.TTL))}
		for i, name := range h.Headers {
			fresh.values[i] = r.Header.Get(name)
		}
		h.cache.Add(key, fresh)
		return next.ServeHTTP(w, r)
	})
	return h.Routes.Compile(remember).ServeHTTP(w, r)
}

// keyOf hashes the key placeholders' values; ok is false when they are
// all empty (no credential: the authorizer decides, nothing is cached).
func (h *Handler) keyOf(repl *caddy.Replacer) (cacheKey, bool) {
	if repl == nil {
		return cacheKey{}, false
	}
	sum := sha256.New()
	any := false
	for _, k := range h.Key {
		v := repl.ReplaceKnown(k, "")
		any = any || v != ""
		fmt.Fprintf(sum, "%d:%s;", len(v), v)
	}
	if !any {
		return cacheKey{}, false
	}
	var key cacheKey
	sum.Sum(key[:0])
	return key, true
}

var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
