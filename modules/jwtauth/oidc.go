package jwtauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// discoveryDocument is the part of an OpenID Provider's metadata that
// jwt_auth reads (OpenID Connect Discovery 1.0, section 3).
type discoveryDocument struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// discoveryURL is where an issuer publishes its metadata. Cognito
// (https://cognito-idp.<region>.amazonaws.com/<pool>), Auth0
// (https://<tenant>.auth0.com/) and Keycloak (https://host/realms/<realm>)
// all follow this shape.
func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// discoverJWKSURL reads the issuer's discovery document and returns its
// jwks_uri. The document's issuer must equal the configured one (section
// 4.3), and jwks_uri must be an allowed URL.
func discoverJWKSURL(ctx context.Context, client *http.Client, issuer string) (string, error) {
	body, err := getDocument(ctx, client, discoveryURL(issuer))
	if err != nil {
		return "", fmt.Errorf("oidc discovery: %w", err)
	}
	var doc discoveryDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("oidc discovery: decode %s: %w", discoveryURL(issuer), err)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("oidc discovery: document names issuer %q, configured %q (they must match exactly)", doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("oidc discovery: %s has no jwks_uri", discoveryURL(issuer))
	}
	if err := checkFetchURL("oidc jwks_uri", doc.JWKSURI); err != nil {
		return "", err
	}
	return doc.JWKSURI, nil
}
