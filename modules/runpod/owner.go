package runpod

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// ownerPlaceholder is the placeholder holding the pod owner: "sub" is
// jwt_auth's {http.auth.user.id}, another claim {http.auth.user.<claim>},
// and a {…} value is used as is.
func ownerPlaceholder(claim string) string {
	switch {
	case claim == "sub":
		return "{http.auth.user.id}"
	case isPlaceholder(claim):
		return claim
	default:
		return "{http.auth.user." + claim + "}"
	}
}

// owner returns the requesting user's owner id, "" when ownership is off,
// and false when ownership is on but the request has no usable identity.
func (h *Handler) owner(r *http.Request) (string, bool) {
	if h.OwnerClaim == "" {
		return "", true
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl == nil {
		return "", false
	}
	id := repl.ReplaceAll(ownerPlaceholder(h.OwnerClaim), "")
	if id == "" || strings.ContainsAny(id, "/\x00") || len(id) > 128 {
		return "", false
	}
	return id, true
}

// namePrefix is the pod name prefix of owner with owner_tag name.
func namePrefix(owner string) string { return owner + "/" }

// owns reports whether p belongs to owner ("" means ownership is off).
func (h *Handler) owns(p podFields, owner string) bool {
	switch {
	case owner == "":
		return true
	case h.OwnerTag == OwnerTagName:
		return strings.HasPrefix(p.Name, namePrefix(owner))
	default:
		return p.Env.Owner == owner
	}
}
