package jwtauth

import (
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"golang.org/x/net/http/httpguts"
)

// Defaults of the remote key sources and the cache.
const (
	DefaultRefresh    = time.Hour
	DefaultMinRefetch = 30 * time.Second
	DefaultTimeout    = 10 * time.Second
	DefaultCacheSize  = 10000
	// initialFetchWait bounds how long Provision waits for a first JWKS
	// fetch; the load never fails because an IdP is slow or down.
	initialFetchWait = 3 * time.Second
)

// SourceConfig is one source of verification keys. Exactly one of Secret,
// PublicKey, JWKS and OIDC is set.
type SourceConfig struct {
	// Secret is an HMAC key, usually a placeholder ({env.X}, {file.X})
	// resolved at provision time.
	Secret string `json:"secret,omitempty"`
	// PublicKey is the path of a PEM file with an RSA, ECDSA or Ed25519
	// public key (or certificate).
	PublicKey string `json:"public_key,omitempty"`
	// JWKS is the URL of a JSON Web Key Set.
	JWKS string `json:"jwks,omitempty"`
	// OIDC is an issuer URL; its discovery document names the JWKS, and
	// tokens verified with these keys must carry exactly this iss.
	OIDC string `json:"oidc,omitempty"`
	// Algorithms is the allow-list for tokens verified by this source.
	// Defaults: HS256 for a secret, the key's own algorithm for a PEM key,
	// every asymmetric algorithm for jwks/oidc (each key's kty and alg
	// still apply).
	Algorithms []string `json:"algorithms,omitempty"`
	// Refresh is the background refresh interval of jwks/oidc (default 1h).
	Refresh caddy.Duration `json:"refresh,omitempty"`
	// MinRefetch is the least time between two fetches caused by unknown
	// kids (default 30s).
	MinRefetch caddy.Duration `json:"min_refetch,omitempty"`
	// Timeout bounds one fetch (default 10s).
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// Issuer, for a jwks source, is the only iss a token verified with its
	// keys may carry, so that with several issuers one IdP's keys cannot
	// vouch for another's tokens. (oidc sources are bound to their issuer.)
	Issuer string `json:"issuer,omitempty"`
	// DisableClientIDAudience stops tokens without aud from meeting the
	// audience rule with their client_id. By default they may, as with AWS
	// API Gateway's JWT authorizer: Cognito access tokens carry client_id
	// and no aud.
	DisableClientIDAudience bool `json:"disable_client_id_audience,omitempty"`
}

// kind names the source's directive.
func (s SourceConfig) kind() string {
	var kinds []string
	if s.Secret != "" {
		kinds = append(kinds, "secret")
	}
	if s.PublicKey != "" {
		kinds = append(kinds, "public_key")
	}
	if s.JWKS != "" {
		kinds = append(kinds, "jwks")
	}
	if s.OIDC != "" {
		kinds = append(kinds, "oidc")
	}
	return strings.Join(kinds, "+")
}

// validate checks the source without touching files or the network.
func (s SourceConfig) validate() error {
	kind := s.kind()
	switch kind {
	case "secret":
		if err := checkAlgorithms("jwt_auth secret", s.Algorithms, familyHMAC); err != nil {
			return err
		}
	case "public_key":
		if err := checkAlgorithms("jwt_auth public_key", s.Algorithms, familyRSA, familyECDSA, familyEd25519); err != nil {
			return err
		}
	case "jwks", "oidc":
		directive := "jwt_auth " + kind
		if err := checkAlgorithms(directive, s.Algorithms, familyRSA, familyECDSA, familyEd25519); err != nil {
			return err
		}
		if err := checkFetchURL(directive, s.JWKS+s.OIDC); err != nil {
			return err
		}
		if s.Refresh < 0 || s.MinRefetch < 0 || s.Timeout < 0 {
			return fmt.Errorf("%s: refresh, min_refetch and timeout must be positive durations such as 1h, 30s, 5s", directive)
		}
	case "":
		return fmt.Errorf("jwt_auth: a key source is empty; write secret, public_key, jwks or oidc")
	default:
		return fmt.Errorf("jwt_auth: one key source sets %s; give each its own line", kind)
	}
	if kind != "jwks" && kind != "oidc" && (s.Refresh != 0 || s.MinRefetch != 0 || s.Timeout != 0) {
		return fmt.Errorf("jwt_auth %s: refresh, min_refetch and timeout apply only to jwks and oidc", kind)
	}
	if s.Issuer != "" && kind != "jwks" {
		return fmt.Errorf("jwt_auth %s: issuer in a key source block applies only to jwks (oidc is bound to its issuer already; use the top-level issuer option otherwise)", kind)
	}
	return nil
}

// remoteConfig returns the key set identity of a jwks/oidc source with
// defaults applied.
func (s SourceConfig) remoteConfig() remoteConfig {
	cfg := remoteConfig{jwksURL: s.JWKS, issuerURL: s.OIDC,
		refresh: time.Duration(s.Refresh), minRefetch: time.Duration(s.MinRefetch), timeout: time.Duration(s.Timeout)}
	if cfg.refresh == 0 {
		cfg.refresh = DefaultRefresh
	}
	if cfg.minRefetch == 0 {
		cfg.minRefetch = DefaultMinRefetch
	}
	if cfg.timeout == 0 {
		cfg.timeout = DefaultTimeout
	}
	return cfg
}

// ClaimHeader maps a claim onto an upstream request header.
type ClaimHeader struct {
	// Claim is the claim name; dots reach nested claims.
	Claim string `json:"claim"`
	// Header is the request header set for the upstream. Client-supplied
	// copies are always deleted first.
	Header string `json:"header"`
}

// validateConfig checks h without side effects; Provision and Validate
// both call it, and the Caddyfile adapter does too, so that mistakes fail
// at adapt time.
func (h *Handler) validateConfig() error {
	for _, s := range h.Sources {
		if err := s.validate(); err != nil {
			return err
		}
	}
	if len(h.Sources) == 0 {
		return h.validateAuthorizeOnly()
	}
	if h.Leeway < 0 {
		return fmt.Errorf("jwt_auth leeway: must not be negative; write e.g. `leeway 30s`")
	}
	if h.CacheSize != nil && *h.CacheSize < 0 {
		return fmt.Errorf("jwt_auth cache: the size must be 0 (off) or a positive number of entries")
	}
	for _, l := range h.From {
		if err := l.validate(); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, ch := range h.ClaimHeaders {
		if ch.Claim == "" || !httpguts.ValidHeaderFieldName(ch.Header) {
			return fmt.Errorf("jwt_auth claim_header: write `claim_header <claim> <Header-Name>`, e.g. `claim_header sub X-User-Id`")
		}
		canon := textproto.CanonicalMIMEHeaderKey(ch.Header)
		if canon == "Authorization" || canon == "Cookie" || canon == "Host" || seen[canon] {
			return fmt.Errorf("jwt_auth claim_header: %s cannot be set from a claim (reserved or mapped twice); pick a header such as X-User-Id", ch.Header)
		}
		seen[canon] = true
	}
	return nil
}

// validateAuthorizeOnly checks a jwt_auth without key sources: it only
// applies require_scopes / require_claims to the token an earlier jwt_auth
// verified, so verification options would be silently ignored.
func (h *Handler) validateAuthorizeOnly() error {
	if len(h.RequireScopes) == 0 && len(h.RequireClaims) == 0 {
		return fmt.Errorf("jwt_auth: no key source; add `secret`, `public_key`, `jwks` or `oidc` (a block with only `require_scopes` checks the token an earlier jwt_auth verified)")
	}
	ignored := map[string]bool{
		"issuer": len(h.Issuers) > 0, "audience": len(h.Audiences) > 0, "leeway": h.Leeway != 0,
		"typ": h.Typ != "", "from": len(h.From) > 0, "claim_header": len(h.ClaimHeaders) > 0,
		"user_claim": h.UserClaim != "", "keep_authorization": h.KeepAuthorization, "cache": h.CacheSize != nil,
	}
	for _, name := range []string{"issuer", "audience", "leeway", "typ", "from", "claim_header", "user_claim", "keep_authorization", "cache"} {
		if ignored[name] {
			return fmt.Errorf("jwt_auth %s: needs a key source in the same block; a jwt_auth with only require_scopes/require_claims checks the token an earlier jwt_auth verified, so put %s there", name, name)
		}
	}
	return nil
}
