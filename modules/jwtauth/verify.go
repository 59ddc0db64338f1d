package jwtauth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxTokenBytes bounds the token jwt_auth will parse.
const maxTokenBytes = 16 << 10

// identity is a verified token: its claims, the user id and when it stops
// being valid.
type identity struct {
	claims  jwt.MapClaims
	userID  string
	expires time.Time
	// placeholders are the values setPlaceholders publishes, made once per
	// verified token (the cache hands the same identity to its requests).
	placeholders identityPlaceholders
	// source verified the signature; generation is its key generation then.
	source     keySource
	generation uint64
}

// rejection says why a token was refused. description goes to the client
// in WWW-Authenticate (never key material or token text); expired selects
// the EXPIRED_TOKEN response type.
type rejection struct {
	description string
	expired     bool
}

func reject(description string) *rejection { return &rejection{description: description} }

// verifier checks a token's signature and claims for one jwt_auth handler.
type verifier struct {
	sources       []keySource
	algorithms    []string
	issuers       []string
	audiences     []string
	requireClaims []string
	typ           string
	userClaim     string
	parser        *jwt.Parser
	validator     *jwt.Validator
}

// newVerifier builds a verifier; now is the clock used for exp/nbf/iat.
func newVerifier(sources []keySource, algorithms, issuers, audiences, requireClaims []string,
	typ, userClaim string, leeway time.Duration, now func() time.Time) *verifier {
	return &verifier{
		sources: sources, algorithms: algorithms, issuers: issuers, audiences: audiences,
		requireClaims: requireClaims, typ: typ, userClaim: userClaim,
		parser: jwt.NewParser(),
		validator: jwt.NewValidator(jwt.WithLeeway(leeway), jwt.WithTimeFunc(now),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt()),
	}
}

// verify checks token and returns the identity it proves.
func (v *verifier) verify(ctx context.Context, token string) (*identity, *rejection) {
	if len(token) > maxTokenBytes {
		return nil, reject("the token is too large")
	}
	if !validJSONText(token) {
		return nil, reject("the token is malformed")
	}
	claims := jwt.MapClaims{}
	tok, _, err := v.parser.ParseUnverified(token, claims)
	if err != nil {
		return nil, reject("the token is malformed")
	}
	alg := tok.Method.Alg()
	if !slices.Contains(v.algorithms, alg) {
		return nil, reject("the token's signing algorithm is not accepted")
	}
	if _, crit := tok.Header["crit"]; crit {
		return nil, reject("the token has critical header parameters this gateway does not understand")
	}
	if v.typ != "" && !typMatches(tok.Header["typ"], v.typ) {
		return nil, reject("the token type is not accepted")
	}
	kid := ""
	if raw, ok := tok.Header["kid"]; ok {
		if kid, ok = raw.(string); !ok {
			return nil, reject("the token is malformed")
		}
	}
	source, generation, rej := v.checkSignature(ctx, tok, token, kid, alg)
	if rej != nil {
		return nil, rej
	}
	if rej := v.checkClaims(claims, source); rej != nil {
		return nil, rej
	}
	id := &identity{claims: claims, source: source, generation: generation}
	exp, _ := claims.GetExpirationTime() // required and valid: checked above
	id.expires = exp.Time
	user, _ := lookupClaim(claims, v.userClaim)
	if id.userID = claimString(user); id.userID == "" {
		return nil, reject("the token has no " + v.userClaim + " claim")
	}
	id.placeholders = newIdentityPlaceholders(id)
	return id, nil
}

// checkSignature tries the keys of every source whose allow-list holds alg
// and returns the source that verified the signature. Keys are never taken
// from the token (jku, x5u and jwk headers are ignored).
func (v *verifier) checkSignature(ctx context.Context, tok *jwt.Token, raw, kid, alg string) (keySource, uint64, *rejection) {
	signingString := raw[:strings.LastIndexByte(raw, '.')]
	var keys [4]any
	tried := 0
	for _, src := range v.sources {
		if !src.allows(alg) {
			continue
		}
		generation := src.generation()
		candidates := src.appendKeys(ctx, kid, alg, keys[:0])
		for _, key := range candidates {
			tried++
			if tok.Method.Verify(signingString, tok.Signature, key) == nil {
				return src, generation, nil
			}
		}
	}
	if tried == 0 {
		return nil, 0, reject("no key is known for this token's kid and algorithm")
	}
	return nil, 0, reject("the token signature is invalid")
}

// checkClaims applies the time, issuer, audience and required-claim rules.
func (v *verifier) checkClaims(claims jwt.MapClaims, source keySource) *rejection {
	if rej := checkRegisteredClaimTypes(claims); rej != nil {
		return rej
	}
	if err := v.validator.Validate(claims); err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			return &rejection{description: "the token has expired", expired: true}
		case errors.Is(err, jwt.ErrTokenNotValidYet):
			return reject("the token is not valid yet")
		case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			return reject("the token was issued in the future")
		case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
			return reject("the token has no exp claim")
		default:
			return reject("the token's time claims are invalid")
		}
	}
	iss, _ := claims["iss"].(string)
	if bound := source.issuer(); bound != "" && iss != bound {
		return reject("the token issuer is not accepted")
	}
	if len(v.issuers) > 0 && !slices.Contains(v.issuers, iss) {
		return reject("the token issuer is not accepted")
	}
	if len(v.audiences) > 0 && !audienceMatches(claims, v.audiences, source.clientIDAudience()) {
		return reject("the token audience is not accepted")
	}
	for _, name := range v.requireClaims {
		if !claimPresent(claims, name) {
			return reject("the token lacks the required claim " + name)
		}
	}
	return nil
}

// audienceMatches reports whether aud (a string or an array) names one of
// the accepted audiences. As in AWS API Gateway's JWT authorizer, a token
// without aud is matched on client_id when clientID is set (Cognito access
// tokens carry no aud; a source can switch this off).
func audienceMatches(claims jwt.MapClaims, accepted []string, clientID bool) bool {
	if _, hasAud := claims["aud"]; !hasAud {
		if !clientID {
			return false
		}
		clientID, _ := claims["client_id"].(string)
		return clientID != "" && slices.Contains(accepted, clientID)
	}
	auds, err := claims.GetAudience()
	if err != nil {
		return false
	}
	for _, a := range auds {
		if slices.Contains(accepted, a) {
			return true
		}
	}
	return false
}

// typMatches compares a typ header with the configured value, case
// insensitively and with an optional "application/" prefix (RFC 7515
// section 4.1.9).
func typMatches(header any, want string) bool {
	got, ok := header.(string)
	if !ok {
		return false
	}
	norm := func(s string) string {
		s = strings.ToLower(s)
		return strings.TrimPrefix(s, "application/")
	}
	return norm(got) == norm(want)
}
