package jwtauth

import (
	"github.com/gpugate/gpugate/modules/internal/upstream"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("jwt_auth", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("jwt_auth", httpcaddyfile.After, "basic_auth")
}

// parseCaddyfile sets up the handler from Caddyfile tokens.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := new(Handler)
	if err := handler.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return handler, nil
}

// UnmarshalCaddyfile parses the jwt_auth directive (see README.md):
//
//	jwt_auth [<matcher>] {
//	    secret <value> [<alg>...]
//	    public_key <pem-file> [<alg>...]
//	    jwks <url> [<alg>...] {
//	        refresh <duration>
//	        min_refetch <duration>
//	        timeout <duration>
//	        issuer <iss>    # jwks only: tokens verified by these keys must carry this iss
//	    }
//	    oidc <issuer-url> [<alg>...] { ...same block as jwks... }
//	    issuer <iss>...
//	    audience <aud>...
//	    leeway <duration>
//	    require_claims <claim>...
//	    require_scopes <scope>...
//	    typ <value>
//	    from header <Name> | cookie <name> | query <name>
//	    claim_header <claim> <Header-Name>
//	    user_claim <claim>
//	    keep_authorization
//	    cache <max-entries>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.Errf("jwt_auth takes its options in a block, not %q on the directive line; write `jwt_auth { secret {env.JWT_SECRET} }`", d.Val())
	}
	for d.NextBlock(0) {
		if err := h.unmarshalOption(d); err != nil {
			return err
		}
	}
	if err := h.validateConfig(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// unmarshalOption parses one line of the jwt_auth block.
func (h *Handler) unmarshalOption(d *caddyfile.Dispenser) error {
	option := d.Val()
	switch option {
	case "secret", "public_key", "jwks", "oidc":
		return h.unmarshalSource(d, option)
	case "issuer":
		return appendArgs(d, &h.Issuers, "issuer https://idp.example.com/")
	case "audience":
		return appendArgs(d, &h.Audiences, "audience my-api")
	case "require_claims":
		return appendArgs(d, &h.RequireClaims, "require_claims email tenant")
	case "require_scopes":
		return appendArgs(d, &h.RequireScopes, "require_scopes pods:read")
	case "leeway":
		dur, err := durationArg(d, "leeway 30s")
		h.Leeway = caddy.Duration(dur)
		return err
	case "typ":
		return singleArg(d, &h.Typ, "typ at+jwt")
	case "user_claim":
		return singleArg(d, &h.UserClaim, "user_claim email")
	case "from":
		args := d.RemainingArgs()
		if len(args) != 2 {
			return d.Errf("jwt_auth from: write `from header <Name>`, `from cookie <name>` or `from query <name>`")
		}
		h.From = append(h.From, TokenLocation{From: args[0], Name: args[1]})
		return nil
	case "claim_header":
		args := d.RemainingArgs()
		if len(args) != 2 {
			return d.Errf("jwt_auth claim_header: write `claim_header <claim> <Header-Name>`, e.g. `claim_header sub X-User-Id`")
		}
		h.ClaimHeaders = append(h.ClaimHeaders, ClaimHeader{Claim: args[0], Header: args[1]})
		return nil
	case "keep_authorization":
		if d.NextArg() {
			return d.Errf("jwt_auth keep_authorization takes no value")
		}
		h.KeepAuthorization = true
		return nil
	case "cache":
		var raw string
		if err := singleArg(d, &raw, "cache 10000 (or cache 0 to disable)"); err != nil {
			return err
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return d.Errf("jwt_auth cache: %q is not a number of entries; write e.g. `cache 10000` (or `cache 0` to disable)", raw)
		}
		h.CacheSize = &n
		return nil
	}
	return d.Errf("jwt_auth: unknown option %q; see modules/jwtauth/README.md (secret, public_key, jwks, oidc, issuer, audience, leeway, require_claims, require_scopes, typ, from, claim_header, user_claim, keep_authorization, cache)", option)
}

// unmarshalSource parses `secret|public_key|jwks|oidc <value> [<alg>...]`
// and, for jwks/oidc, its optional block.
func (h *Handler) unmarshalSource(d *caddyfile.Dispenser, kind string) error {
	if !d.NextArg() {
		return d.Errf("jwt_auth %s: missing value; write e.g. `%s`", kind, map[string]string{
			"secret": "secret {env.JWT_SECRET} HS256", "public_key": "public_key /etc/gpugate/jwt.pem RS256",
			"jwks": "jwks https://idp.example.com/.well-known/jwks.json", "oidc": "oidc https://idp.example.com/",
		}[kind])
	}
	var src KeySource
	switch kind {
	case "secret":
		// A literal secret would sit in the adapted JSON, the admin API and
		// config dumps: only {env.X} / {file.X} placeholders are accepted.
		if err := upstream.CheckSecretPlaceholder("jwt_auth secret", d.Val()); err != nil {
			return d.Err(err.Error())
		}
		src.Secret = d.Val()
	case "public_key":
		src.PublicKey = d.Val()
	case "jwks":
		src.JWKS = d.Val()
	case "oidc":
		src.OIDC = d.Val()
	}
	src.Algorithms = d.RemainingArgs()
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if kind != "jwks" && kind != "oidc" {
			return d.Errf("jwt_auth %s takes no block; refresh, min_refetch and timeout apply to jwks and oidc", kind)
		}
		if d.Val() == "issuer" {
			if err := singleArg(d, &src.Issuer, "issuer https://cognito-idp.<region>.amazonaws.com/<pool-id>"); err != nil {
				return err
			}
			continue
		}
		var target *caddy.Duration
		switch d.Val() {
		case "refresh":
			target = &src.Refresh
		case "min_refetch":
			target = &src.MinRefetch
		case "timeout":
			target = &src.Timeout
		default:
			return d.Errf("jwt_auth %s: unknown option %q; the block takes refresh, min_refetch, timeout (and issuer for jwks)", kind, d.Val())
		}
		dur, err := durationArg(d, d.Val()+" 30s")
		if err != nil {
			return err
		}
		*target = caddy.Duration(dur)
	}
	if err := src.validate(); err != nil {
		return d.Err(err.Error())
	}
	h.Sources = append(h.Sources, src)
	return nil
}

// appendArgs appends the remaining arguments (at least one) to dst.
func appendArgs(d *caddyfile.Dispenser, dst *[]string, example string) error {
	option := d.Val()
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.Errf("jwt_auth %s: at least one value is needed; write e.g. `%s`", option, example)
	}
	*dst = append(*dst, args...)
	return nil
}

// singleArg reads exactly one argument into dst.
func singleArg(d *caddyfile.Dispenser, dst *string, example string) error {
	option := d.Val()
	args := d.RemainingArgs()
	if len(args) != 1 {
		return d.Errf("jwt_auth %s: exactly one value is needed; write e.g. `%s`", option, example)
	}
	*dst = args[0]
	return nil
}

// durationArg reads one positive duration.
func durationArg(d *caddyfile.Dispenser, example string) (time.Duration, error) {
	option := d.Val()
	var raw string
	if err := singleArg(d, &raw, example); err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(raw)
	if err != nil || dur < 0 {
		return 0, d.Errf("jwt_auth %s: %q is not a duration; write e.g. `%s`", option, raw, example)
	}
	return dur, nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
