package jwtauth

import (
	"context"
	"slices"
)

// keySource yields the keys that may verify a token. Each source has its
// own algorithm allow-list; a token's alg is only ever checked against it.
type keySource interface {
	// allows reports whether alg is on this source's allow-list.
	allows(alg string) bool
	// appendKeys appends the keys that may verify a token with this kid
	// (empty when the token has none) and alg. It may block for a bounded
	// time to re-fetch a remote key set when kid is unknown.
	appendKeys(ctx context.Context, kid, alg string, dst []any) []any
	// generation changes whenever the source's keys change, so that cached
	// verifications made with a removed key are not trusted any more.
	generation() uint64
	// issuer, when not empty, is the only iss a token verified with this
	// source may carry (OIDC discovery binds keys to their issuer).
	issuer() string
	// clientIDAudience reports whether a token without aud may meet the
	// audience rule with its client_id (AWS API Gateway's JWT authorizer
	// does so for Cognito access tokens).
	clientIDAudience() bool
}

// staticSource is an HMAC secret or a PEM public key. The kid of a token
// is not consulted: the operator named the key explicitly.
type staticSource struct {
	algorithms []string
	key        any
	noClientID bool
}

func (s *staticSource) allows(alg string) bool { return slices.Contains(s.algorithms, alg) }

func (s *staticSource) appendKeys(_ context.Context, _, alg string, dst []any) []any {
	if _, hmac := s.key.([]byte); hmac {
		if algorithmFamilies[alg] == familyHMAC {
			return append(dst, s.key)
		}
		return dst
	}
	if keyFitsAlgorithm(s.key, alg) {
		return append(dst, s.key)
	}
	return dst
}

func (s *staticSource) generation() uint64     { return 0 }
func (s *staticSource) issuer() string         { return "" }
func (s *staticSource) clientIDAudience() bool { return !s.noClientID }
