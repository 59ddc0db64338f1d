package modal

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/gpugate/gpugate/modules/internal/upstream"
)

// modalNamePattern is what Modal accepts in a workspace name or a label: DNS
// label characters.
var modalNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// EndpointURL returns the web endpoint URL of a Modal workspace and label:
// https://<workspace>--<label>.modal.run, with Modal's "-dev" suffix for
// endpoints served by `modal serve`.
func EndpointURL(workspace, label string, dev bool) (string, error) {
	if !modalNamePattern.MatchString(workspace) {
		return "", fmt.Errorf("modal: workspace %q is not a Modal workspace name (lower-case letters, digits and dashes)", workspace)
	}
	if !modalNamePattern.MatchString(label) {
		return "", fmt.Errorf("modal: label %q is not a Modal endpoint label (lower-case letters, digits and dashes)", label)
	}
	if dev {
		label += "-dev"
	}
	host := workspace + "--" + label + ".modal.run"
	if len(host) > 63+len(".modal.run") {
		return "", fmt.Errorf("modal: %q is longer than a DNS label allows; Modal truncates such labels, so write the exact url instead", host)
	}
	return "https://" + host, nil
}

// parseUpstreamURL checks a configured upstream URL and returns it with its
// base path split into segments. Only an origin plus an optional base path
// is allowed: credentials, a query or a fragment in the URL would be sent
// on every call or leak into logs.
func parseUpstreamURL(raw string) (*url.URL, []string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("modal url: %q is not a URL; write e.g. https://my-workspace--my-app.modal.run", raw)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, nil, fmt.Errorf("modal url: %q must start with https:// (http:// only for local tests)", raw)
	case u.Host == "" || u.Hostname() == "":
		return nil, nil, fmt.Errorf("modal url: %q has no host; write e.g. https://my-workspace--my-app.modal.run", raw)
	case u.User != nil:
		return nil, nil, fmt.Errorf("modal url: do not put credentials in the url; use bearer or proxy_auth with {env.NAME}")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, nil, fmt.Errorf("modal url: the url must not have a query or fragment; clients' query strings are forwarded as they are")
	}
	base, err := upstream.SplitPath(u.EscapedPath())
	if err != nil {
		return nil, nil, fmt.Errorf("modal url: base path of %q: %w", raw, err)
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		host = strings.ToLower(u.Hostname()) // as Modal writes it in Location headers
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	}
	origin := &url.URL{Scheme: u.Scheme, Host: host}
	return origin, base, nil
}

// parsePrefix checks a configured path prefix (strip_prefix or
// replace_prefix) and returns its segments.
func parsePrefix(field, prefix string) ([]string, error) {
	if prefix == "" {
		return nil, nil
	}
	if !strings.HasPrefix(prefix, "/") {
		return nil, fmt.Errorf("modal %s: %q must start with /, e.g. /api", field, prefix)
	}
	segs, err := upstream.SplitPath(prefix)
	if err != nil {
		return nil, fmt.Errorf("modal %s: %q: %w", field, prefix, err)
	}
	return segs, nil
}
