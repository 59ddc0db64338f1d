package usageplan

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
)

// KeyPrefix starts every generated key value, so a leaked key is easy to
// recognise (secret scanners, logs).
const KeyPrefix = "gpg_"

const (
	keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	idAlphabet  = "abcdefghijklmnopqrstuvwxyz0123456789"
	keyLength   = 40 // 40 base62 characters: 238 bits
	idLength    = 10 // like API Gateway key ids
)

// NewKeyValue returns a random key value with the readable prefix.
func NewKeyValue() (string, error) {
	s, err := randomString(keyAlphabet, keyLength)
	return KeyPrefix + s, err
}

// NewKeyID returns a random public key id.
func NewKeyID() (string, error) { return randomString(idAlphabet, idLength) }

func randomString(alphabet string, n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b), nil
}

// HashKey returns the hex SHA-256 of a key value, the only form in which a
// key is stored.
func HashKey(value string) string {
	sum := sha256.Sum256([]byte(value))
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return string(buf[:])
}
