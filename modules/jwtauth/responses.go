package jwtauth

import (
	"net/http"
	"strings"

	"github.com/gpugate/gpugate/modules/gwerror"
	"go.uber.org/zap"
)

// refuse answers 401. Without a rejection (no token at all) the challenge
// carries no error code (RFC 6750 section 3.1); otherwise it says
// invalid_token with a description that names the rule, never a key or the
// token. Failures log at debug only: they are the client's problem, and an
// attacker must not be able to flood the error log.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, result string, rej *rejection) {
	h.metrics.results.WithLabelValues(result).Inc()
	challenge := "Bearer"
	typ := gwerror.Unauthorized
	if rej != nil {
		challenge = `Bearer error="invalid_token", error_description="` + quoteSafe(rej.description) + `"`
		if rej.expired {
			typ = gwerror.ExpiredToken
		}
		h.logger.Debug("jwt rejected", zap.String("reason", rej.description), zap.String("remote_ip", r.RemoteAddr))
	} else {
		h.logger.Debug("jwt missing", zap.String("remote_ip", r.RemoteAddr))
	}
	h.errors.Write(w, r, gwerror.Response{Type: typ, Header: http.Header{"Www-Authenticate": {challenge}}})
}

// forbid answers 403 insufficient_scope, naming the scopes the route needs
// (RFC 6750 section 3).
func (h *Handler) forbid(w http.ResponseWriter, r *http.Request, missing []string) {
	h.metrics.results.WithLabelValues("forbidden").Inc()
	h.logger.Debug("jwt lacks scopes", zap.Strings("missing", missing))
	challenge := `Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="` +
		quoteSafe(strings.Join(h.RequireScopes, " ")) + `"`
	h.errors.Write(w, r, gwerror.Response{Type: gwerror.AccessDenied, Header: http.Header{"Www-Authenticate": {challenge}}})
}

// quoteSafe drops the characters a quoted-string cannot hold as they are.
func quoteSafe(s string) string {
	return strings.Map(func(c rune) rune {
		if c == '"' || c == '\\' || c < 0x20 || c == 0x7f {
			return -1
		}
		return c
	}, s)
}
