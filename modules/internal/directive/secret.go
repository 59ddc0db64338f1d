package directive

import (
	"fmt"
	"strings"
)

// CheckSecretPlaceholder reports an error unless configured is exactly one
// {env.NAME} or {file.PATH} placeholder. Config adapters call it so that a
// secret written literally into a Caddyfile, which would then sit in the
// adapted JSON, the admin API and config dumps, fails at `caddy adapt`.
// directive names the config field in the message; the value itself is
// never repeated.
func CheckSecretPlaceholder(directive, configured string) error {
	inner, ok := strings.CutPrefix(configured, "{")
	if ok {
		inner, ok = strings.CutSuffix(inner, "}")
	}
	if ok && !strings.ContainsAny(inner, "{}") {
		if name, isEnv := strings.CutPrefix(inner, "env."); isEnv && name != "" {
			return nil
		}
		if path, isFile := strings.CutPrefix(inner, "file."); isFile && path != "" {
			return nil
		}
	}
	return fmt.Errorf("%s: write the secret as a placeholder, {env.NAME} or {file./path/to/secret}, never literally in the config", directive)
}
