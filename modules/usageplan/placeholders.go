package usageplan

import (
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// placeholderPrefix is the namespace of the usage_plan placeholders.
const placeholderPrefix = "http.usage_plan."

// keyPlaceholders answers {http.usage_plan.key_id}, {http.usage_plan.key_name}
// and, when a plan was chosen, {http.usage_plan.plan} for one request. They
// are a replacer function rather than three Replacer.Set calls: the
// replacer's map of set values holds about twenty of reverse_proxy's per
// request, and grows (rehashes) as it fills. Set values come before this
// function, but nothing in Caddy or gpugate sets these names (jwt_auth
// sets {http.auth.user.id} for that reason: vars and basic_auth set it).
func keyPlaceholders(keyID, keyName, plan string) caddy.ReplacerFunc {
	return func(key string) (any, bool) {
		name, ok := strings.CutPrefix(key, placeholderPrefix)
		if !ok {
			return nil, false
		}
		switch name {
		case "key_id":
			return keyID, true
		case "key_name":
			return keyName, true
		case "plan":
			return plan, plan != ""
		}
		return nil, false
	}
}
