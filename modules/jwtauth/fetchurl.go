package jwtauth

import (
	"fmt"
	"net"
	"net/url"
)

// checkFetchURL accepts an https URL, or http to a loopback host (local
// IdPs and tests): keys fetched over plain HTTP from elsewhere could be
// swapped by anyone on the path.
func checkFetchURL(directive, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s: %q is not an absolute URL; write e.g. https://idp.example.com/.well-known/jwks.json", directive, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%s: %s must use https (plain http is accepted only for localhost)", directive, raw)
	}
	return fmt.Errorf("%s: %s must be an https URL", directive, raw)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
