package runpod

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
)

// ownerPlaceholder is the placeholder holding the pod owner: "sub" is
// jwt_auth's {http.auth.user.id}, another claim {http.auth.user.<claim>},
// and a value with a {…} placeholder is used as is.
func ownerPlaceholder(claim string) string {
	switch {
	case claim == "sub":
		return "{http.auth.user.id}"
	case strings.Contains(claim, "{"):
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
	if !validOwner(id) {
		return "", false
	}
	return id, true
}

// maxOwnerLength bounds an owner id in bytes.
const maxOwnerLength = 128

// validOwner reports whether id can identify a pod owner unambiguously: it
// is recorded in the pod's name (owner_tag name: "<id>/" prefix) or env
// and compared byte for byte, so ids that another party could spell
// differently yet store identically are refused. That rules out "/" (the
// name separator), invalid UTF-8 (JSON turns it into U+FFFD, which another
// id may hold), leading or trailing white space (a store may trim it),
// and control and invisible format characters (zero-width, bidi), which
// may be dropped or render one id as another.
func validOwner(id string) bool {
	if id == "" || len(id) > maxOwnerLength || !utf8.ValidString(id) || strings.TrimSpace(id) != id {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool {
		return r == '/' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ')
	})
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
		return p.Owner == owner
	}
}
