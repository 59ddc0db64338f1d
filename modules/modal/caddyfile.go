package modal

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("modal", directive.Handler[Handler])
	httpcaddyfile.RegisterDirectiveOrder("modal", httpcaddyfile.Before, "reverse_proxy")
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
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		h.URL = d.Val()
		if d.NextArg() {
			return d.Errf("modal: one url after the directive name; put everything else in the block")
		}
	}
	b := directive.Open(d, "modal").Repeatable("strip_headers")
	for b.Next() {
		if err := h.unmarshalSetting(b); err != nil {
			return err
		}
	}
	return h.checkCaddyfile(b)
}

// unmarshalSetting parses one setting of the block.
func (h *Handler) unmarshalSetting(b *directive.Block) error {
	var err error
	switch b.Setting() {
	case "url":
		if h.URL != "" && b.Seen("url") == 1 {
			return b.Errf("the url is already given after the directive name; keep one")
		}
		h.URL, err = b.One("url https://<workspace>--<label>.modal.run")
	case "workspace":
		h.Workspace, err = b.One("workspace <workspace name>")
	case "label":
		h.Label, err = b.One("label multitalk-api-fastapi-app")
	case "dev":
		err = b.Flag()
		h.Dev = true
	case "bearer":
		h.Bearer, err = b.Secret("bearer {env.NAME}")
	case "proxy_auth":
		var args []string
		if args, err = b.Args(2, "proxy_auth {env.MODAL_KEY} {env.MODAL_SECRET}"); err != nil {
			return err
		}
		for i, field := range []string{"modal proxy_auth key", "modal proxy_auth secret"} {
			if err := directive.CheckSecretPlaceholder(field, args[i]); err != nil {
				return b.Wrap(err)
			}
		}
		h.ProxyAuthKey, h.ProxyAuthSecret = args[0], args[1]
	case "strip_headers":
		var names []string
		names, err = b.Many("strip_headers X-Client-Token")
		h.StripHeaders = append(h.StripHeaders, names...)
	case "strip_prefix":
		h.PathPrefix, err = b.One("strip_prefix /api")
	case "replace_prefix":
		var args []string
		if args, err = b.Args(2, "replace_prefix /api /api/v1"); err == nil {
			h.PathPrefix, h.UpstreamPrefix = args[0], args[1]
		}
	case "follow_redirects":
		err = h.unmarshalFollow(b)
	case "pass_redirects":
		err = b.Flag()
		h.Redirects = RedirectsPass
	case "timeout":
		h.Timeout, err = b.Duration("timeout 160s")
	case "max_body":
		h.MaxBody, err = b.Size("max_body 10MB")
	case "tls_ca":
		h.TLSCA, err = b.One("tls_ca /path/to/ca.pem")
	case "api_key", "key", "secret", "token", "authorization", "header_up":
		return b.Dispenser().Errf("modal: unknown subdirective %q; the upstream's credentials are set with bearer {env.NAME} or proxy_auth {env.KEY} {env.SECRET}", b.Setting())
	default:
		return b.Unknown("url", "workspace", "label", "dev", "bearer", "proxy_auth", "strip_headers", "strip_prefix",
			"replace_prefix", "follow_redirects", "pass_redirects", "timeout", "max_body", "tls_ca")
	}
	return err
}

// unmarshalFollow parses `follow_redirects [<total duration>]`.
func (h *Handler) unmarshalFollow(b *directive.Block) error {
	h.Redirects = RedirectsFollow
	if b.Dispenser().CountRemainingArgs() == 0 {
		return b.Flag()
	}
	var err error
	h.FollowFor, err = b.Duration("follow_redirects 30m")
	return err
}

// checkCaddyfile rejects combinations that do not make sense, at adapt time.
func (h *Handler) checkCaddyfile(b *directive.Block) error {
	d := b.Dispenser()
	switch {
	case b.Seen("follow_redirects") > 0 && b.Seen("pass_redirects") > 0:
		return d.Errf("modal: follow_redirects and pass_redirects exclude each other; keep one")
	case b.Seen("strip_prefix") > 0 && b.Seen("replace_prefix") > 0:
		return d.Errf("modal: strip_prefix and replace_prefix exclude each other; strip_prefix /api is replace_prefix /api /")
	case h.URL != "" && (h.Workspace != "" || h.Label != "" || h.Dev):
		return d.Errf("modal: write either url or workspace + label [dev], not both")
	case h.URL == "" && h.Workspace == "" && h.Label == "":
		return d.Errf("modal: no endpoint; write url https://<workspace>--<label>.modal.run, or workspace <name> and label <label>")
	case h.URL == "" && (h.Workspace == "" || h.Label == ""):
		return d.Errf("modal: workspace and label go together; write both, e.g. workspace acme and label multitalk-api-fastapi-app")
	}
	if h.URL != "" && !strings.Contains(h.URL, "{") {
		if _, _, err := parseUpstreamURL(h.URL); err != nil {
			return d.WrapErr(err)
		}
	}
	for field, prefix := range map[string]string{"strip_prefix/replace_prefix": h.PathPrefix, "replace_prefix": h.UpstreamPrefix} {
		if _, err := parsePrefix(field, prefix); err != nil {
			return d.WrapErr(err)
		}
	}
	if h.UpstreamPrefix == "/" {
		h.UpstreamPrefix = ""
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
