package upstream

import (
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"golang.org/x/net/http/httpguts"
)

// clientCredentialHeaders are request headers that carry a client's own
// credentials. None of them may reach an upstream.
var clientCredentialHeaders = [...]string{
	"Authorization",
	"Proxy-Authorization",
	"X-Api-Key",
	"Cookie",
	"Modal-Key",
	"Modal-Secret",
	"X-Amz-Security-Token",
}

// hopHeaders are hop-by-hop headers (RFC 9110 section 7.6.1): they describe
// one connection, so a proxy never forwards them, in either direction.
var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// forwardingHeaders tell an upstream who the client is. A client can write
// any of them, so none of the client's copies is forwarded; the gateway sets
// X-Forwarded-For/-Proto/-Host itself (see OutboundHeader).
var forwardingHeaders = [...]string{
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
	"X-Forwarded-Prefix", "X-Real-Ip", "Via",
}

// credentialsVar is the request variable (caddyhttp vars) in which the
// modules that read a credential from a request header (usage_plan's
// key_source, jwt_auth's from header) record its name, so that the header is
// stripped before any upstream call as the standard ones are.
const credentialsVar = "gpugate.credential_headers"

// MarkCredentialHeader records that name carries a client credential in r:
// OutboundHeader removes it from the upstream request.
// A standard credential header (removed always) is not recorded, so the
// common case (Authorization, X-Api-Key) costs no request variable.
func MarkCredentialHeader(r *http.Request, name string) {
	name = textproto.CanonicalMIMEHeaderKey(name)
	if slices.Contains(clientCredentialHeaders[:], name) {
		return
	}
	names, _ := caddyhttp.GetVar(r.Context(), credentialsVar).([]string)
	for _, n := range names {
		if n == name {
			return
		}
	}
	caddyhttp.SetVar(r.Context(), credentialsVar, append(names, name))
}

// markedCredentialHeaders returns the names MarkCredentialHeader recorded.
func markedCredentialHeaders(r *http.Request) []string {
	names, _ := caddyhttp.GetVar(r.Context(), credentialsVar).([]string)
	return names
}

// OutboundHeader builds the header of the request an upstream receives from
// the client request r (or a request a module built for it, carrying the
// client's context, Host and TLS). It is gpugate's one outbound header
// policy:
//
//   - every client credential is removed: the standard credential headers
//     (Authorization, X-Api-Key, Cookie, Modal-Key/-Secret, ...), the
//     headers a key source read (MarkCredentialHeader), and extra;
//   - hop-by-hop headers are removed, with every header the client's
//     Connection header names;
//   - the client's Forwarded, X-Forwarded-*, X-Real-Ip and Via are removed
//     and X-Forwarded-For (the client address as Caddy determined it,
//     honouring the server's trusted_proxies), X-Forwarded-Proto and
//     X-Forwarded-Host are set by the gateway: an upstream then sees the real
//     client, as behind API Gateway's HTTP integrations, and a client cannot
//     claim another address;
//   - the gateway's own credentials (inject) are set last, so nothing a
//     client sends can replace or remove them;
//   - without a client User-Agent, none is sent (not Go's default).
func OutboundHeader(r *http.Request, inject http.Header, extra []string) http.Header {
	out := r.Header.Clone()
	if out == nil {
		out = http.Header{}
	}
	removeHopByHop(out)
	for _, name := range clientCredentialHeaders {
		delete(out, name)
	}
	for _, name := range markedCredentialHeaders(r) {
		delete(out, name)
	}
	for _, name := range extra {
		out.Del(name)
	}
	for _, name := range forwardingHeaders {
		delete(out, name)
	}
	if ip := clientIP(r); ip != "" {
		out.Set("X-Forwarded-For", ip)
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	out.Set("X-Forwarded-Proto", proto)
	if r.Host != "" {
		out.Set("X-Forwarded-Host", r.Host)
	}
	for name, values := range inject {
		out[name] = values
	}
	if _, ok := out["User-Agent"]; !ok {
		out["User-Agent"] = []string{""}
	}
	return out
}

// InboundHeader cleans an upstream response's header before it reaches the
// client: hop-by-hop headers (and those the upstream's Connection names)
// go, except on a protocol switch, and so does the upstream's Server: the
// client talks to the gateway and need not learn what runs behind it.
func InboundHeader(resp *http.Response) {
	if resp.StatusCode != http.StatusSwitchingProtocols {
		removeHopByHop(resp.Header)
	}
	delete(resp.Header, "Server")
}

// removeHopByHop deletes hop-by-hop headers from h, including every header
// its Connection header lists.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" && httpguts.ValidHeaderFieldName(name) {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		delete(h, name)
	}
}

// clientIP is the client address as Caddy determined it (honouring the
// server's trusted_proxies), falling back to the connection's peer.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}
