package jwtauth

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/health"
)

func init() {
	caddy.RegisterModule(jwksHealth{})
}

// jwksHealth is the readiness check of the shared JWKS / OIDC key sets
// (module gpugate.health.jwt_auth, loaded by gpugate_health): every key set
// holds keys and was fetched successfully within twice its refresh
// interval. A stale set keeps verifying with its last good keys, but
// rotated keys are missed until the IdP answers again.
type jwksHealth struct{}

// CaddyModule returns the Caddy module information.
func (jwksHealth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "gpugate.health.jwt_auth", New: func() caddy.Module { return new(jwksHealth) }}
}

// CheckHealth implements health.Checker; no check when no jwt_auth uses a
// remote key set.
func (jwksHealth) CheckHealth(context.Context) []health.Check {
	var sets, stale, empty int
	var oldest time.Duration
	remoteKeySets.Range(func(_, v any) bool {
		set, ok := v.(*remoteKeySet)
		if !ok {
			return true
		}
		sets++
		age := set.age()
		oldest = max(oldest, age)
		switch {
		case len(set.snapshot().all) == 0:
			empty++
		case age >= 2*set.cfg.refresh:
			stale++
		}
		return true
	})
	if sets == 0 {
		return nil
	}
	c := health.Check{Name: "jwt_auth.jwks", OK: stale == 0 && empty == 0}
	switch {
	case empty > 0:
		c.Detail = fmt.Sprintf("%d of %d key sets hold no key yet (the identity provider did not answer)", empty, sets)
	case stale > 0:
		c.Detail = fmt.Sprintf("%d of %d key sets not refreshed within twice their refresh interval; the last good keys stay in use", stale, sets)
	default:
		c.Detail = fmt.Sprintf("%d key sets, the oldest fetched %s ago", sets, oldest.Round(time.Second))
	}
	return []health.Check{c}
}

var _ health.Checker = jwksHealth{}
