package console

import (
	"errors"
	"net/http"
)

// guard is the console's own defence against cross-site requests, on top
// of the admin endpoint's Origin check (which refuses a browser request
// whose Origin or Referer is not one of the admin endpoint's origins):
//
//   - a state-changing request (POST) must come from the console's own
//     origin: Go's http.CrossOriginProtection refuses it when the
//     browser's Sec-Fetch-Site says it came from another origin, or when
//     its Origin names a host other than the one it was sent to. Requests
//     with neither header (curl, scripts) are not from a browser and pass,
//     as they would on the rest of the admin API;
//   - a page is not served to another site (Fetch Metadata: Sec-Fetch-Site
//     cross-site or same-site), so it cannot be opened in another site's
//     frame or by a link from one, even when the admin endpoint accepts
//     requests that name no origin (as the console needs, see README);
//     the pages also forbid framing (CSP frame-ancestors, X-Frame-Options).
type guard struct {
	cop *http.CrossOriginProtection
}

func newGuard() *guard { return &guard{cop: http.NewCrossOriginProtection()} }

// errCrossSite refuses a page asked for by another site.
var errCrossSite = errors.New("console: a page asked for by another site")

// check returns an error when r comes from another origin.
func (g *guard) check(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return errCrossSite
	}
	return g.cop.Check(r)
}
