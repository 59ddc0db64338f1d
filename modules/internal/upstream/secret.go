package upstream

import (
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// ResolveSecret expands a configured secret such as "{env.RUNPOD_API_KEY}"
// or "{file./run/secrets/runpod}" (Caddy's global placeholders) at
// provision time. directive names the config field in error messages. The
// result is trimmed of surrounding white space (files often end in a
// newline) and must not be empty; the secret itself never appears in an
// error.
func ResolveSecret(directive, configured string) (string, error) {
	if configured == "" {
		return "", fmt.Errorf("%s: no secret configured; write e.g. {env.NAME} or {file./path/to/secret}", directive)
	}
	repl := caddy.NewReplacer()
	value, err := repl.ReplaceOrErr(configured, true, true)
	if err != nil {
		return "", fmt.Errorf("%s: cannot resolve the configured placeholder (is the environment variable or file there?)", directive)
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return "", fmt.Errorf("%s: the secret resolved to an empty value; set the environment variable or file it names", directive)
	}
	return value, nil
}
