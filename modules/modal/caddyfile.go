package modal

import (
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/gpugate/gpugate/modules/internal/upstream"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("modal", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("modal", httpcaddyfile.Before, "reverse_proxy")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	modal [<url>] {
//	    url            <url>
//	    workspace      <workspace>
//	    label          <label>
//	    dev
//	    bearer         {env.NAME}|{file.PATH}
//	    proxy_auth     <key placeholder> <secret placeholder>
//	    strip_headers  <header>...
//	    strip_prefix   <prefix>
//	    replace_prefix <from> <to>
//	    follow_redirects [<total duration>]
//	    pass_redirects
//	    timeout        <duration>
//	    max_body       <size>
//	    tls_ca         <pem file>
//	}
func (m *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		m.URL = d.Val()
		if d.NextArg() {
			return d.Errf("modal: one url after the directive name; put everything else in the block")
		}
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		name := d.Val()
		if seen[name] && name != "strip_headers" {
			return d.Errf("modal: %s is set twice; keep one", name)
		}
		seen[name] = true
		if err := m.unmarshalSetting(d, name); err != nil {
			return err
		}
	}
	return m.checkCaddyfile(d, seen)
}

func (m *Handler) unmarshalSetting(d *caddyfile.Dispenser, name string) error {
	args := d.RemainingArgs()
	want := func(n int, usage string) error {
		if len(args) != n {
			return d.Errf("modal %s: wrong number of arguments; write %s", name, usage)
		}
		return nil
	}
	switch name {
	case "url":
		if err := want(1, "url https://<workspace>--<label>.modal.run"); err != nil {
			return err
		}
		if m.URL != "" {
			return d.Errf("modal url: the url is already given after the directive name; keep one")
		}
		m.URL = args[0]
	case "workspace":
		if err := want(1, "workspace <workspace name>"); err != nil {
			return err
		}
		m.Workspace = args[0]
	case "label":
		if err := want(1, "label <endpoint label>, e.g. label multitalk-api-fastapi-app"); err != nil {
			return err
		}
		m.Label = args[0]
	case "dev":
		if err := want(0, "dev (no arguments)"); err != nil {
			return err
		}
		m.Dev = true
	case "bearer":
		if err := want(1, "bearer {env.NAME}"); err != nil {
			return err
		}
		if err := upstream.CheckSecretPlaceholder("modal bearer", args[0]); err != nil {
			return d.Err(err.Error())
		}
		m.Bearer = args[0]
	case "proxy_auth":
		if err := want(2, "proxy_auth {env.MODAL_KEY} {env.MODAL_SECRET}"); err != nil {
			return err
		}
		for i, field := range []string{"modal proxy_auth key", "modal proxy_auth secret"} {
			if err := upstream.CheckSecretPlaceholder(field, args[i]); err != nil {
				return d.Err(err.Error())
			}
		}
		m.ProxyAuthKey, m.ProxyAuthSecret = args[0], args[1]
	case "strip_headers":
		if len(args) == 0 {
			return d.Errf("modal strip_headers: name at least one header, e.g. strip_headers X-Client-Token")
		}
		m.StripHeaders = append(m.StripHeaders, args...)
	case "strip_prefix":
		if err := want(1, "strip_prefix /api"); err != nil {
			return err
		}
		m.PathPrefix = args[0]
	case "replace_prefix":
		if err := want(2, "replace_prefix /api /api/v1"); err != nil {
			return err
		}
		m.PathPrefix, m.UpstreamPrefix = args[0], args[1]
	case "follow_redirects":
		if len(args) > 1 {
			return d.Errf("modal follow_redirects: write follow_redirects [<total duration>], e.g. follow_redirects 30m")
		}
		m.Redirects = RedirectsFollow
		if len(args) == 1 {
			dur, err := positiveDuration(d, name, args[0], "follow_redirects 30m")
			if err != nil {
				return err
			}
			m.FollowFor = dur
		}
	case "pass_redirects":
		if err := want(0, "pass_redirects (no arguments)"); err != nil {
			return err
		}
		m.Redirects = RedirectsPass
	case "timeout":
		if err := want(1, "timeout 160s"); err != nil {
			return err
		}
		dur, err := positiveDuration(d, name, args[0], "timeout 160s")
		if err != nil {
			return err
		}
		m.Timeout = dur
	case "max_body":
		if err := want(1, "max_body 10MB"); err != nil {
			return err
		}
		size, err := humanize.ParseBytes(args[0])
		if err != nil || size == 0 || size > 1<<40 {
			return d.Errf("modal max_body: %q is not a size; write e.g. max_body 10MB", args[0])
		}
		m.MaxBody = int64(size)
	case "tls_ca":
		if err := want(1, "tls_ca /path/to/ca.pem"); err != nil {
			return err
		}
		m.TLSCA = args[0]
	case "api_key", "key", "secret", "token", "authorization", "header_up":
		return d.Errf("modal: unknown setting %q; the upstream's credentials are set with bearer {env.NAME} or proxy_auth {env.KEY} {env.SECRET}", name)
	default:
		return d.Errf("modal: unknown setting %q; see modules/modal/README.md for url, workspace, label, dev, bearer, proxy_auth, strip_headers, strip_prefix, replace_prefix, follow_redirects, pass_redirects, timeout, max_body, tls_ca", name)
	}
	return nil
}

// checkCaddyfile rejects combinations that do not make sense, at adapt time.
func (m *Handler) checkCaddyfile(d *caddyfile.Dispenser, seen map[string]bool) error {
	switch {
	case seen["follow_redirects"] && seen["pass_redirects"]:
		return d.Errf("modal: follow_redirects and pass_redirects exclude each other; keep one")
	case seen["strip_prefix"] && seen["replace_prefix"]:
		return d.Errf("modal: strip_prefix and replace_prefix exclude each other; strip_prefix /api is replace_prefix /api /")
	case m.URL != "" && (m.Workspace != "" || m.Label != "" || m.Dev):
		return d.Errf("modal: write either url or workspace + label [dev], not both")
	case m.URL == "" && m.Workspace == "" && m.Label == "":
		return d.Errf("modal: no endpoint; write url https://<workspace>--<label>.modal.run, or workspace <name> and label <label>")
	case m.URL == "" && (m.Workspace == "" || m.Label == ""):
		return d.Errf("modal: workspace and label go together; write both, e.g. workspace acme and label multitalk-api-fastapi-app")
	}
	if m.URL != "" && !strings.Contains(m.URL, "{") {
		if _, _, err := parseUpstreamURL(m.URL); err != nil {
			return d.Err(err.Error())
		}
	}
	for field, prefix := range map[string]string{"strip_prefix/replace_prefix": m.PathPrefix, "replace_prefix": m.UpstreamPrefix} {
		if _, err := parsePrefix(field, prefix); err != nil {
			return d.Err(err.Error())
		}
	}
	if m.UpstreamPrefix == "/" {
		m.UpstreamPrefix = ""
	}
	return nil
}

// positiveDuration parses a Caddy duration (1m30s, 2h, 1d) that must be
// above zero.
func positiveDuration(d *caddyfile.Dispenser, name, value, example string) (caddy.Duration, error) {
	dur, err := caddy.ParseDuration(value)
	if err != nil || dur <= 0 {
		return 0, d.Errf("modal %s: %q is not a positive duration; write e.g. %s", name, value, example)
	}
	return caddy.Duration(dur), nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
