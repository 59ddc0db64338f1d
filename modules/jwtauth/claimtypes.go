package jwtauth

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// maxNumericDate is 9999-12-31T23:59:59Z: exp, nbf and iat beyond it (or
// before 1970) are not dates a token can mean; far out of range, they
// would overflow into the past when converted to a time.
const maxNumericDate = 253402300799

// validJSONText reports whether the token's header and payload decode to
// UTF-8 text, as JSON must be (RFC 8259 section 8.1): Go's decoder would
// otherwise turn invalid bytes into U+FFFD and accept a subject no issuer
// signed as such.
func validJSONText(token string) bool {
	header, rest, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	payload, _, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	for _, part := range [...]string{header, payload} {
		b, err := base64.RawURLEncoding.DecodeString(part)
		if err != nil || !utf8.Valid(b) {
			return false
		}
	}
	return true
}

// checkRegisteredClaimTypes refuses registered claims of the wrong type
// (RFC 7519 section 4.1): sub and iss are StringOrURI, so strings; exp,
// nbf and iat are NumericDates within maxNumericDate.
func checkRegisteredClaimTypes(claims jwt.MapClaims) *rejection {
	for _, name := range [...]string{"sub", "iss"} {
		if v, ok := claims[name]; ok {
			if _, isString := v.(string); !isString {
				return reject("the token's " + name + " claim is not a string")
			}
		}
	}
	for _, name := range [...]string{"exp", "nbf", "iat"} {
		v, ok := claims[name]
		if !ok {
			continue
		}
		f, isNumber := v.(float64)
		if !isNumber || f < 0 || f > maxNumericDate {
			return reject("the token's " + name + " claim is not a valid date")
		}
	}
	return nil
}
