package jwtauth

import (
	"fmt"
	"os"
	"strings"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/cobra"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "jwt-token",
		Usage: "[--secret-env <VAR> | --secret-file <path>] [--sub <user>] [--scope <scopes>] [--ttl <duration>] [--iss <issuer>] [--aud <audience>] [--claim <name>=<value>]...",
		Short: "Prints a signed HS256 development token for a jwt_auth secret",
		Long: `
Prints an HS256 JWT signed with the secret in an environment variable (default
GPUGATE_JWT_SECRET) or a file, for trying out a gateway protected by
jwt_auth { secret ... }, e.g. caddyfiles/quickstart.Caddyfile:

	gpugate jwt-token --sub alice --scope "pods:read" --ttl 1h

The secret is never printed. Use it for development only: production tokens
come from your identity provider.`,
		CobraFunc: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.String("secret-env", "GPUGATE_JWT_SECRET", "environment variable holding the HMAC secret")
			fs.String("secret-file", "", "file holding the HMAC secret (instead of --secret-env)")
			fs.String("sub", "dev-user", "subject (becomes {http.auth.user.id})")
			fs.String("scope", "", "space-separated scopes, e.g. \"pods:read pods:write\"")
			fs.Duration("ttl", time.Hour, "lifetime of the token")
			fs.String("iss", "", "issuer claim")
			fs.String("aud", "", "audience claim")
			fs.String("alg", "HS256", "HS256, HS384 or HS512")
			fs.StringArray("claim", nil, "extra string claim as name=value (repeatable)")
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				opts := devTokenOptions{}
				opts.secretEnv, _ = fs.GetString("secret-env")
				opts.secretFile, _ = fs.GetString("secret-file")
				opts.sub, _ = fs.GetString("sub")
				opts.scope, _ = fs.GetString("scope")
				opts.ttl, _ = fs.GetDuration("ttl")
				opts.iss, _ = fs.GetString("iss")
				opts.aud, _ = fs.GetString("aud")
				opts.alg, _ = fs.GetString("alg")
				opts.claims, _ = fs.GetStringArray("claim")
				token, err := issueDevToken(opts, os.Getenv, os.ReadFile, time.Now())
				if err != nil {
					return err
				}
				if usesDevelopmentSecret(opts, os.Getenv, os.ReadFile) {
					fmt.Fprintln(cmd.ErrOrStderr(), "jwt-token: signed with gpugate's published development secret: "+
						"the token works only on a gateway that listens on loopback (the quickstart); never use this secret elsewhere")
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), token)
				return err
			}
		},
	})
}

// devTokenOptions are the jwt-token flags.
type devTokenOptions struct {
	secretEnv, secretFile string
	sub, scope, iss, aud  string
	alg                   string
	ttl                   time.Duration
	claims                []string
}

// usesDevelopmentSecret reports whether o signs with DevelopmentSecret.
func usesDevelopmentSecret(o devTokenOptions, getenv func(string) string, readFile func(string) ([]byte, error)) bool {
	if o.secretFile != "" {
		b, err := readFile(o.secretFile)
		return err == nil && strings.TrimSpace(string(b)) == DevelopmentSecret
	}
	return strings.TrimSpace(getenv(o.secretEnv)) == DevelopmentSecret
}

// issueDevToken signs a development token; the environment, file reader
// and clock are injected.
func issueDevToken(o devTokenOptions, getenv func(string) string, readFile func(string) ([]byte, error), now time.Time) (string, error) {
	var secret string
	if o.secretFile != "" {
		b, err := readFile(o.secretFile)
		if err != nil {
			return "", fmt.Errorf("jwt-token: read --secret-file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	} else {
		secret = strings.TrimSpace(getenv(o.secretEnv))
		if secret == "" {
			return "", fmt.Errorf("jwt-token: %s is not set; export the same secret the gateway uses (see caddyfiles/quickstart.Caddyfile)", o.secretEnv)
		}
	}
	method := jwt.GetSigningMethod(o.alg)
	if method == nil || algorithmFamilies[o.alg] != familyHMAC {
		return "", fmt.Errorf("jwt-token: --alg must be HS256, HS384 or HS512")
	}
	if need := hmacMinimumKeyBytes[o.alg]; len(secret) < need {
		return "", fmt.Errorf("jwt-token: the secret is %d bytes, %s needs at least %d (jwt_auth would refuse it too)", len(secret), o.alg, need)
	}
	if o.ttl <= 0 {
		return "", fmt.Errorf("jwt-token: --ttl must be positive, e.g. 1h")
	}
	claims := jwt.MapClaims{"sub": o.sub, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(o.ttl).Unix()}
	if o.scope != "" {
		claims["scope"] = o.scope
	}
	if o.iss != "" {
		claims["iss"] = o.iss
	}
	if o.aud != "" {
		claims["aud"] = o.aud
	}
	for _, kv := range o.claims {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return "", fmt.Errorf("jwt-token: --claim %q: write name=value", kv)
		}
		claims[name] = value
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["typ"] = "JWT"
	return tok.SignedString([]byte(secret))
}
