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

// identityPlaceholders are an identity's placeholder values.
type identityPlaceholders struct {
	userID any // {http.auth.user.id}
	claims caddy.ReplacerFunc
}

// newIdentityPlaceholders makes id's placeholder values: the user id and
// a function that reads {http.auth.user.<claim>} (dots reach nested
// claims) when a placeholder asks.
func newIdentityPlaceholders(id *identity) identityPlaceholders {
	claims := id.claims
	return identityPlaceholders{userID: id.userID, claims: func(key string) (any, bool) {
		name, ok := strings.CutPrefix(key, userPlaceholderPrefix)
		if !ok {
			return nil, false
		}
		v, found := lookupClaim(claims, name)
		if !found {
			return nil, false
		}
		return claimString(v), true
	}}
}

// setPlaceholders publishes {http.auth.user.id} and, lazily,
// {http.auth.user.<claim>}. The user id is set, not answered by the
// claims function: the replacer's set values come before every function,
// and an earlier handler may have set the id (a vars rule or basic_auth);
// the verified token's must replace it.
func setPlaceholders(r *http.Request, id *identity) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	repl.Set(userPlaceholderPrefix+"id", id.placeholders.userID)
	repl.Map(id.placeholders.claims)
}
