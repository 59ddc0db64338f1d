package jwtauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/directive"
	"github.com/gpugate/gpugate/modules/internal/upstream"
	"github.com/gpugate/gpugate/modules/policy"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler verifies bearer JWTs before the rest of the route runs. A
// handler without key sources only checks require_scopes / require_claims
// on the token an earlier jwt_auth in the same request verified.
type Handler struct {
	// Sources are the key sources; a token is accepted when one of them
	// verifies it with an algorithm on that source's allow-list.
	Sources []SourceConfig `json:"sources,omitempty"`
	// Issuers, when set, are the accepted iss values.
	Issuers []string `json:"issuers,omitempty"`
	// Audiences, when set, must meet the token's aud (or client_id when
	// the token has no aud).
	Audiences []string `json:"audiences,omitempty"`
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway caddy.Duration `json:"leeway,omitempty"`
	// RequireClaims must be present and non-empty; dots reach nested claims.
	RequireClaims []string `json:"require_claims,omitempty"`
	// RequireScopes must all be granted by scope / scp; otherwise 403.
	RequireScopes []string `json:"require_scopes,omitempty"`
	// Typ, when set, must equal the token's typ header (e.g. at+jwt).
	Typ string `json:"typ,omitempty"`
	// From lists where the token is looked for, in order; default
	// Authorization: Bearer.
	From []TokenLocation `json:"from,omitempty"`
	// ClaimHeaders set upstream headers from claims.
	ClaimHeaders []ClaimHeader `json:"claim_headers,omitempty"`
	// UserClaim becomes {http.auth.user.id}; default sub.
	UserClaim string `json:"user_claim,omitempty"`
	// KeepAuthorization passes the token on to the upstream; by default
	// it is removed from wherever it came.
	KeepAuthorization bool `json:"keep_authorization,omitempty"`
	// CacheSize bounds the verified-token cache; 0 disables it, nil means
	// DefaultCacheSize.
	CacheSize *int `json:"cache_size,omitempty"`

	// now and client are injected by tests; nil means time.Now and a
	// client of its own per key set.
	now      func() time.Time
	client   *http.Client
	logger   *zap.Logger
	errors   *gwerror.Writer
	verifier *verifier
	cache    *tokenCache
	metrics  *metrics
	// acquired are the shared key sets this handler holds in the pool.
	acquired []remoteConfig
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.gpugate_jwt_auth",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision resolves secrets, loads keys, joins the shared JWKS fetchers
// and builds the verifier and cache.
func (h *Handler) Provision(ctx caddy.Context) error {
	if err := h.Validate(); err != nil {
		return err
	}
	if err := policy.RequireOnServer(ctx, "jwt_auth"); err != nil {
		return err
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.logger = ctx.Logger()
	var err error
	if h.errors, err = gwerror.Load(ctx); err != nil {
		return err
	}
	if h.metrics, err = newMetrics(ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	if len(h.Sources) == 0 {
		return nil
	}
	if h.UserClaim == "" {
		h.UserClaim = "sub"
	}
	if len(h.From) == 0 {
		h.From = []TokenLocation{defaultLocation}
	}
	sources := make([]keySource, 0, len(h.Sources))
	var algorithms []string
	for _, cfg := range h.Sources {
		src, err := h.provisionSource(ctx, cfg)
		if err != nil {
			return err
		}
		sources = append(sources, src)
		for _, alg := range algorithmsOf(src) {
			if !slices.Contains(algorithms, alg) {
				algorithms = append(algorithms, alg)
			}
		}
	}
	h.verifier = newVerifier(sources, algorithms, h.Issuers, h.Audiences, h.RequireClaims,
		h.Typ, h.UserClaim, time.Duration(h.Leeway), h.now)
	size := DefaultCacheSize
	if h.CacheSize != nil {
		size = *h.CacheSize
	}
	h.cache = newTokenCache(size, h.now)
	return nil
}

// algorithmsOf returns a provisioned source's allow-list.
func algorithmsOf(src keySource) []string {
	switch s := src.(type) {
	case *staticSource:
		return s.algorithms
	case *remoteSource:
		return s.algorithms
	}
	return nil
}

// provisionSource turns one configured source into a keySource.
func (h *Handler) provisionSource(ctx caddy.Context, cfg SourceConfig) (keySource, error) {
	switch cfg.kind() {
	case "secret":
		secret, err := upstream.ResolveSecret("jwt_auth secret", cfg.Secret)
		if err != nil {
			return nil, err
		}
		if err := checkDevelopmentSecret(ctx, secret); err != nil {
			return nil, err
		}
		algs := cfg.Algorithms
		if len(algs) == 0 {
			algs = []string{"HS256"}
		}
		for _, alg := range algs {
			if need := hmacMinimumKeyBytes[alg]; len(secret) < need {
				return nil, fmt.Errorf("jwt_auth secret: the secret is %d bytes, %s needs at least %d (RFC 7518 3.2); generate one with `openssl rand -base64 48`", len(secret), alg, need)
			}
		}
		return &staticSource{algorithms: algs, key: []byte(secret), noClientID: cfg.DisableClientIDAudience}, nil
	case "public_key":
		path, err := caddy.NewReplacer().ReplaceOrErr(cfg.PublicKey, true, true)
		if err != nil {
			return nil, fmt.Errorf("jwt_auth public_key: cannot resolve %q: %w", cfg.PublicKey, err)
		}
		key, err := loadPublicKey(path)
		if err != nil {
			return nil, fmt.Errorf("jwt_auth %w", err)
		}
		algs := cfg.Algorithms
		if len(algs) == 0 {
			algs = defaultAlgorithmsForKey(key)
		}
		for _, alg := range algs {
			if !keyFitsAlgorithm(key, alg) {
				fam, _ := familyOfKey(key)
				return nil, fmt.Errorf("jwt_auth public_key %s: algorithm %s does not fit the key; %s", path, alg, familyHint([]keyFamily{fam}))
			}
		}
		return &staticSource{algorithms: algs, key: key, noClientID: cfg.DisableClientIDAudience}, nil
	default:
		return h.provisionRemote(ctx, cfg)
	}
}

// provisionRemote joins (or starts) the shared fetcher of a jwks/oidc
// source and waits briefly for its first keys.
func (h *Handler) provisionRemote(ctx caddy.Context, cfg SourceConfig) (keySource, error) {
	rc := cfg.remoteConfig()
	val, _, err := remoteKeySets.LoadOrNew(rc, func() (caddy.Destructor, error) {
		client := h.client
		if client == nil {
			var err error
			if client, err = newFetchClient(ctx); err != nil {
				return nil, err
			}
		}
		set := newRemoteKeySet(rc, client, h.logger.Named("jwks"), h.now)
		set.start()
		return set, nil
	})
	if err != nil {
		return nil, err
	}
	h.acquired = append(h.acquired, rc)
	set := val.(*remoteKeySet)
	set.waitReady(ctx, min(rc.timeout, initialFetchWait))
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = asymmetricAlgorithms
	}
	return &remoteSource{set: set, algorithms: algs, boundIssuer: cfg.Issuer, noClientID: cfg.DisableClientIDAudience}, nil
}

// maxFetchRedirects bounds redirects of JWKS and discovery fetches.
const maxFetchRedirects = 5

// newFetchClient is the HTTP client of JWKS and discovery fetches, on the
// gateway's one outbound transport (system roots, proxies from the
// environment); its redirects must stay on https (or loopback http) too.
func newFetchClient(ctx caddy.Context) (*http.Client, error) {
	tr, err := upstream.NewTransport(ctx, upstream.TransportConfig{TLS: true})
	if err != nil {
		return nil, fmt.Errorf("jwt_auth: JWKS transport: %w", err)
	}
	return &http.Client{Transport: tr.Transport, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxFetchRedirects {
			return fmt.Errorf("stopped after %d redirects", maxFetchRedirects)
		}
		return checkFetchURL("jwks redirect", req.URL.String())
	}}, nil
}

// Validate checks the configuration; it is fast and has no side effects.
func (h *Handler) Validate() error {
	if err := h.validateConfig(); err != nil {
		return err
	}
	// Also for JSON configs (admin /load): a literal secret would sit in the
	// config the admin API serves. (The Caddyfile adapter checks it as it
	// reads the secret line.)
	for _, s := range h.Sources {
		if s.Secret != "" {
			if err := directive.CheckSecretPlaceholder("jwt_auth secret", s.Secret); err != nil {
				return err
			}
		}
	}
	return nil
}

// Cleanup releases the shared key sets; it is safe after a failed
// Provision. The last user of a set stops its goroutine.
func (h *Handler) Cleanup() error {
	for _, rc := range h.acquired {
		_, _ = remoteKeySets.Delete(rc)
	}
	h.acquired = nil
	return nil
}

// ServeHTTP authenticates the request and passes it on, or answers 401/403.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.verifier == nil {
		return h.authorizeOnly(w, r, next)
	}
	for _, ch := range h.ClaimHeaders {
		r.Header.Del(ch.Header) // client copies never reach the upstream
	}
	token, err := h.findToken(r)
	if err != nil {
		h.refuse(w, r, "invalid", &rejection{description: "the request carries more than one token"})
		return nil
	}
	if token == "" {
		h.refuse(w, r, "missing", nil)
		return nil
	}
	id, rej := h.identifyTraced(r.Context(), token)
	if rej != nil {
		result := "invalid"
		if rej.expired {
			result = "expired"
		}
		h.refuse(w, r, result, rej)
		return nil
	}
	if missing := missingScopes(id.claims, h.RequireScopes); len(missing) > 0 {
		h.forbid(w, r, missing)
		return nil
	}
	h.metrics.ok()
	if !h.KeepAuthorization {
		r.Header.Del("Authorization")
		for _, l := range h.From {
			removeCredential(r, l)
		}
	}
	for _, ch := range h.ClaimHeaders {
		if v, ok := lookupClaim(id.claims, ch.Claim); ok {
			if s := sanitizeHeaderValue(claimString(v)); s != "" {
				r.Header.Set(ch.Header, s)
			}
		}
	}
	setPlaceholders(r, id)
	return next.ServeHTTP(w, r.WithContext(withIdentity(r.Context(), id)))
}

// findToken returns the first token found in the configured locations.
func (h *Handler) findToken(r *http.Request) (string, error) {
	for _, l := range h.From {
		token, err := tokenFrom(r, l)
		if err != nil || token != "" {
			return token, err
		}
	}
	return "", nil
}

// identify returns the identity of token from the cache or by verifying it.
func (h *Handler) identify(ctx context.Context, token string) (*identity, *rejection) {
	var key tokenKey
	if h.cache != nil {
		key = sha256.Sum256([]byte(token))
		if id := h.cache.get(key); id != nil {
			h.metrics.cacheHit()
			return id, nil
		}
		h.metrics.cache.WithLabelValues("miss").Inc()
	}
	id, rej := h.verifier.verify(ctx, token)
	if rej == nil {
		h.cache.put(key, id)
	}
	return id, rej
}

// authorizeOnly applies require_scopes / require_claims to the identity an
// earlier jwt_auth verified in this request.
func (h *Handler) authorizeOnly(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	id := identityFrom(r.Context())
	if id == nil {
		h.logger.Warn("jwt_auth with only require_scopes/require_claims ran before any jwt_auth verified a token; put a jwt_auth with a key source before it")
		h.refuse(w, r, "missing", nil)
		return nil
	}
	for _, name := range h.RequireClaims {
		if !claimPresent(id.claims, name) {
			h.refuse(w, r, "invalid", reject("the token lacks the required claim "+name))
			return nil
		}
	}
	if missing := missingScopes(id.claims, h.RequireScopes); len(missing) > 0 {
		h.forbid(w, r, missing)
		return nil
	}
	h.metrics.ok()
	return next.ServeHTTP(w, r)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
