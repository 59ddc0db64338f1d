package jwtauth

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// loadPublicKey reads a PEM file holding one RSA, ECDSA (P-256/384/521) or
// Ed25519 public key: "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY" (PKCS #1) or a
// "CERTIFICATE" whose key is used. Private keys are refused so that an
// operator never ships a signing key to the gateway by mistake.
func loadPublicKey(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public_key %s: %w", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("public_key %s: no PEM block found; give a file with -----BEGIN PUBLIC KEY-----", path)
	}
	if strings.Contains(block.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("public_key %s: the file holds a private key; give the gateway only the public key (openssl pkey -pubout)", path)
	}
	var key any
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("public_key %s: PEM block %q is not a public key; give PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("public_key %s: cannot parse %s: %w", path, block.Type, err)
	}
	if fam, _ := familyOfKey(key); fam == familyNone {
		return nil, fmt.Errorf("public_key %s: unsupported key type %T; use RSA, ECDSA P-256/P-384/P-521 or Ed25519", path, key)
	}
	return key, nil
}
