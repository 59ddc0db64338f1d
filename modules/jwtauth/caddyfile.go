package jwtauth

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("jwt_auth", directive.Handler[Handler])
	httpcaddyfile.RegisterDirectiveOrder("jwt_auth", httpcaddyfile.After, "basic_auth")
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
	b := directive.Open(d, "jwt_auth").Repeatable("secret", "public_key", "jwks", "oidc", "issuer", "audience",
		"require_claims", "require_scopes", "from", "claim_header")
	for b.Next() {
		if err := h.unmarshalOption(b); err != nil {
			return err
		}
	}
	if err := h.validateConfig(); err != nil {
		return d.WrapErr(err)
	}
	return nil
}

// unmarshalOption parses one line of the jwt_auth block.
func (h *Handler) unmarshalOption(b *directive.Block) error {
	var err error
	var args []string
	switch b.Setting() {
	case "secret", "public_key", "jwks", "oidc":
		return h.unmarshalSource(b)
	case "issuer":
		args, err = b.Many("issuer https://idp.example.com/")
		h.Issuers = append(h.Issuers, args...)
	case "audience":
		args, err = b.Many("audience my-api")
		h.Audiences = append(h.Audiences, args...)
	case "require_claims":
		args, err = b.Many("require_claims email tenant")
		h.RequireClaims = append(h.RequireClaims, args...)
	case "require_scopes":
		args, err = b.Many("require_scopes pods:read")
		h.RequireScopes = append(h.RequireScopes, args...)
	case "leeway":
		h.Leeway, err = b.Duration("leeway 30s")
	case "typ":
		h.Typ, err = b.One("typ at+jwt")
	case "user_claim":
		h.UserClaim, err = b.One("user_claim email")
	case "from":
		if args, err = b.Args(2, "from header <Name>` (or `from cookie <name>`, `from query <name>"); err == nil {
			h.From = append(h.From, TokenLocation{From: args[0], Name: args[1]})
		}
	case "claim_header":
		if args, err = b.Args(2, "claim_header <claim> <Header-Name>`, e.g. `claim_header sub X-User-Id"); err == nil {
			h.ClaimHeaders = append(h.ClaimHeaders, ClaimHeader{Claim: args[0], Header: args[1]})
		}
	case "keep_authorization":
		err = b.Flag()
		h.KeepAuthorization = true
	case "cache":
		var raw string
		if raw, err = b.One("cache 10000"); err != nil {
			return err
		}
		n, perr := strconv.Atoi(raw)
		if perr != nil || n < 0 {
			return b.Errf("%q is not a number of entries; write e.g. `cache 10000` (or `cache 0` to disable)", raw)
		}
		h.CacheSize = &n
	default:
		return b.Unknown("secret", "public_key", "jwks", "oidc", "issuer", "audience", "leeway", "require_claims",
			"require_scopes", "typ", "from", "claim_header", "user_claim", "keep_authorization", "cache")
	}
	return err
}

// sourceExamples show a correct line of each key source.
var sourceExamples = map[string]string{
	"secret": "secret {env.JWT_SECRET} HS256", "public_key": "public_key /etc/gpugate/jwt.pem RS256",
	"jwks": "jwks https://idp.example/.well-known/jwks.json", "oidc": "oidc https://idp.example.com/",
}

// unmarshalSource parses `secret|public_key|jwks|oidc <value> [<alg>...]`
// and, for jwks/oidc, its optional block.
func (h *Handler) unmarshalSource(b *directive.Block) error {
	kind := b.Setting()
	d := b.Dispenser()
	if !d.NextArg() {
		return b.Errf("missing value; write e.g. `%s`", sourceExamples[kind])
	}
	var src SourceConfig
	switch kind {
	case "secret":
		// A literal secret would sit in the adapted JSON, the admin API and
		// config dumps: only {env.X} / {file.X} placeholders are accepted.
		if err := directive.CheckSecretPlaceholder("jwt_auth secret", d.Val()); err != nil {
			return d.WrapErr(err)
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
	block := directive.Open(d, "jwt_auth "+kind)
	for block.Next() {
		if block.Setting() == "client_id_audience" {
			v, err := block.One("client_id_audience off")
			if err != nil {
				return err
			}
			if v != "on" && v != "off" {
				return block.Errf("write client_id_audience on or client_id_audience off")
			}
			src.DisableClientIDAudience = v == "off"
			continue
		}
		if kind != "jwks" && kind != "oidc" {
			return d.Errf("jwt_auth %s takes no block but client_id_audience; refresh, min_refetch and timeout apply to jwks and oidc", kind)
		}
		var err error
		switch block.Setting() {
		case "issuer":
			src.Issuer, err = block.One("issuer https://cognito-idp.<region>.amazonaws.com/<pool-id>")
		case "refresh":
			src.Refresh, err = block.Duration("refresh 1h")
		case "min_refetch":
			src.MinRefetch, err = block.Duration("min_refetch 30s")
		case "timeout":
			src.Timeout, err = block.Duration("timeout 10s")
		default:
			return block.Unknown("refresh", "min_refetch", "timeout", "issuer (jwks only)", "client_id_audience")
		}
		if err != nil {
			return err
		}
	}
	if err := src.validate(); err != nil {
		return d.WrapErr(err)
	}
	h.Sources = append(h.Sources, src)
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
