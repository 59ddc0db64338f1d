package jwtauth

import (
	"fmt"
	"net"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// DevelopmentSecret is the HMAC secret `./xcaddy.sh run` gives the
// quickstart when GPUGATE_JWT_SECRET is unset. It is published (in this
// repository), so anybody can sign tokens with it: jwt_auth accepts it only
// on a server that listens on loopback addresses alone.
const DevelopmentSecret = "gpugate-dev-only-secret-do-not-use-in-production"

// checkDevelopmentSecret refuses the published development secret unless
// every address the enclosing server listens on is loopback (or a unix
// socket). Outside an HTTP server nothing can be checked, so it is refused
// there too.
func checkDevelopmentSecret(ctx caddy.Context, secret string) error {
	if secret != DevelopmentSecret {
		return nil
	}
	const why = "jwt_auth secret: this is gpugate's published development secret (anybody can sign tokens with it)"
	srv, _ := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if srv == nil {
		return fmt.Errorf("%s and its server's addresses are unknown here; set GPUGATE_JWT_SECRET to a secret of your own, e.g. from `openssl rand -base64 48`", why)
	}
	for _, addr := range srv.Listen {
		if !loopbackAddress(addr) {
			return fmt.Errorf("%s, and this server listens on %s, beyond loopback; set GPUGATE_JWT_SECRET to a secret of your own, e.g. from `openssl rand -base64 48`, or bind the site to 127.0.0.1", why, addr)
		}
	}
	return nil
}

// loopbackAddress reports whether a listen address (Caddy's network
// address syntax) reaches only this machine: a unix socket, localhost or a
// loopback IP. An empty host means every interface.
func loopbackAddress(addr string) bool {
	na, err := caddy.ParseNetworkAddress(addr)
	if err != nil {
		return false
	}
	if na.IsUnixNetwork() || na.IsFdNetwork() {
		return true
	}
	host := strings.Trim(na.Host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
