package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"
)

// keyFamily is the kind of key an algorithm verifies with. An algorithm
// is only ever used with a key of its own family, so "none" and
// HMAC-with-a-public-key cannot happen.
type keyFamily int

const (
	familyNone keyFamily = iota
	familyHMAC
	familyRSA
	familyECDSA
	familyEd25519
)

// algorithmFamilies lists every algorithm jwt_auth accepts in an allow-list.
var algorithmFamilies = map[string]keyFamily{
	"HS256": familyHMAC, "HS384": familyHMAC, "HS512": familyHMAC,
	"RS256": familyRSA, "RS384": familyRSA, "RS512": familyRSA,
	"PS256": familyRSA, "PS384": familyRSA, "PS512": familyRSA,
	"ES256": familyECDSA, "ES384": familyECDSA, "ES512": familyECDSA,
	"EdDSA": familyEd25519,
}

// asymmetricAlgorithms is the default allow-list of jwks and oidc sources.
var asymmetricAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// hmacMinimumKeyBytes is RFC 7518 section 3.2: an HMAC key is at least as
// long as the hash output.
var hmacMinimumKeyBytes = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

// checkAlgorithms reports an allow-list entry that is unknown or not of one
// of the wanted families; directive names the config line in the error.
func checkAlgorithms(directive string, algs []string, wanted ...keyFamily) error {
	for _, alg := range algs {
		fam, ok := algorithmFamilies[alg]
		if !ok {
			if strings.EqualFold(alg, "none") {
				return fmt.Errorf("%s: algorithm \"none\" is never accepted; list signing algorithms such as RS256 or ES256", directive)
			}
			return fmt.Errorf("%s: unknown algorithm %q; write one of %s", directive, alg, strings.Join(sortedAlgorithms(), ", "))
		}
		if !slices.Contains(wanted, fam) {
			return fmt.Errorf("%s: algorithm %s does not fit this key source; %s", directive, alg, familyHint(wanted))
		}
	}
	return nil
}

func familyHint(wanted []keyFamily) string {
	if slices.Contains(wanted, familyHMAC) {
		return "a secret takes HS256, HS384 or HS512"
	}
	if len(wanted) == 1 {
		switch wanted[0] {
		case familyRSA:
			return "an RSA key takes RS256, RS384, RS512, PS256, PS384 or PS512"
		case familyECDSA:
			return "this ECDSA key takes the ES algorithm of its curve (P-256: ES256, P-384: ES384, P-521: ES512)"
		case familyEd25519:
			return "an Ed25519 key takes EdDSA"
		}
	}
	return "public-key sources take RS*, PS*, ES* or EdDSA, never HS*"
}

func sortedAlgorithms() []string {
	out := make([]string, 0, len(algorithmFamilies))
	for alg := range algorithmFamilies {
		out = append(out, alg)
	}
	slices.Sort(out)
	return out
}

// familyOfKey returns the family of a public key and, for ECDSA, the one
// algorithm its curve allows.
func familyOfKey(key any) (keyFamily, string) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return familyRSA, ""
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return familyECDSA, "ES256"
		case elliptic.P384():
			return familyECDSA, "ES384"
		case elliptic.P521():
			return familyECDSA, "ES512"
		}
		return familyNone, ""
	case ed25519.PublicKey:
		return familyEd25519, ""
	}
	return familyNone, ""
}

// keyFitsAlgorithm reports whether key may verify a token signed with alg.
func keyFitsAlgorithm(key any, alg string) bool {
	fam, curveAlg := familyOfKey(key)
	if fam == familyNone || algorithmFamilies[alg] != fam {
		return false
	}
	return curveAlg == "" || curveAlg == alg
}

// defaultAlgorithmsForKey is the allow-list of a PEM key when none is given.
func defaultAlgorithmsForKey(key any) []string {
	switch fam, curveAlg := familyOfKey(key); fam {
	case familyRSA:
		return []string{"RS256"}
	case familyECDSA:
		return []string{curveAlg}
	case familyEd25519:
		return []string{"EdDSA"}
	}
	return nil
}
