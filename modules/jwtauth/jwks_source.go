package jwtauth

import (
	"context"
	"slices"

	"github.com/caddyserver/caddy/v2"
)

// remoteKeySets shares key sets across handlers and config reloads: a
// reload reuses the fetched keys (kept even while the IdP is down) instead
// of fetching again. It is the package's only global, as in Caddy's own
// reverse_proxy (whose upstream hosts live in a UsagePool too).
var remoteKeySets = caddy.NewUsagePool()

// remoteSource is a jwks or oidc key source: a shared remoteKeySet seen
// through this handler's algorithm allow-list.
type remoteSource struct {
	set        *remoteKeySet
	algorithms []string
	// boundIssuer is the jwks block's issuer ("" = not bound).
	boundIssuer string
	noClientID  bool
}

func (s *remoteSource) clientIDAudience() bool { return !s.noClientID }

func (s *remoteSource) allows(alg string) bool { return slices.Contains(s.algorithms, alg) }

func (s *remoteSource) appendKeys(ctx context.Context, kid, alg string, dst []any) []any {
	snap := s.set.snapshot()
	if kid == "" {
		return appendFitting(dst, snap.all, alg)
	}
	if keys, ok := snap.byKID[kid]; ok {
		return appendFitting(dst, keys, alg)
	}
	// Whether or not this call fetched, read the set again: another request's
	// refetch may have installed the kid between the lookup above and now
	// (min_refetch then refuses a second fetch, rightly).
	s.set.refetchUnknownKID(ctx)
	return appendFitting(dst, s.set.snapshot().byKID[kid], alg)
}

// appendFitting appends the keys that fit alg; a JWK's own alg, when
// present, must equal the token's.
func appendFitting(dst []any, keys []verificationKey, alg string) []any {
	for _, k := range keys {
		if (k.alg == "" || k.alg == alg) && keyFitsAlgorithm(k.key, alg) {
			dst = append(dst, k.key)
		}
	}
	return dst
}

func (s *remoteSource) generation() uint64 { return s.set.snapshot().generation }
func (s *remoteSource) issuer() string {
	if s.boundIssuer != "" {
		return s.boundIssuer
	}
	return s.set.issuerOf()
}
