package jwtauth

import (
	"context"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// identityKey keys the verified identity in a request context; it is
// private, so neither placeholders nor other modules can read or forge it.
type identityKey struct{}

func withIdentity(ctx context.Context, id *identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

func identityFrom(ctx context.Context) *identity {
	id, _ := ctx.Value(identityKey{}).(*identity)
	return id
}

// userPlaceholderPrefix is the namespace of the claim placeholders.
const userPlaceholderPrefix = "http.auth.user."

// newIdentityPlaceholders makes the function that answers id's
// placeholders when one is asked for: {http.auth.user.id} (the user id,
// even if a claim is named "id") and {http.auth.user.<claim>} (dots reach
// nested claims). The user id is answered here too, not set with
// Replacer.Set: every value set grows the replacer's map, which
// reverse_proxy fills with about twenty values per request.
func newIdentityPlaceholders(id *identity) caddy.ReplacerFunc {
	claims := id.claims
	var userID any = id.userID // boxed once, not on every lookup
	return func(key string) (any, bool) {
		name, ok := strings.CutPrefix(key, userPlaceholderPrefix)
		if !ok {
			return nil, false
		}
		if name == "id" {
			return userID, true
		}
		v, found := lookupClaim(claims, name)
		if !found {
			return nil, false
		}
		return claimString(v), true
	}
}

// setPlaceholders publishes, lazily, {http.auth.user.id} and
// {http.auth.user.<claim>}.
func setPlaceholders(r *http.Request, id *identity) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	repl.Map(id.placeholders)
}
