package redisconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// StartupError pings Redis once and returns an error only when the answer
// shows that the configuration is wrong: a server certificate the client
// does not trust (wrong ca_file, wrong server_name), TLS against a server
// that speaks plain Redis, or a refused user or password. An unreachable
// or slow server is not an error: a gateway starts while Redis is down
// and connects when it is back. The error never holds a password.
func StartupError(ctx context.Context, client redis.UniversalClient) error {
	err := client.Ping(ctx).Err()
	if err == nil {
		return nil
	}
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &verify):
		return fmt.Errorf("redis TLS: the server certificate is not signed by a trusted CA (%v); set ca_file=/path/ca.pem to the CA that signed it", err)
	case errors.As(err, &hostname):
		return fmt.Errorf("redis TLS: the server certificate is for another name (%v); connect by a name it holds or set server_name=<name>", err)
	case errors.As(err, &invalid):
		return fmt.Errorf("redis TLS: the server certificate is invalid: %v", err)
	case errors.As(err, &record):
		return errors.New("redis TLS: the server does not speak TLS on this port; write redis:// or use the server's TLS port")
	}
	msg := err.Error()
	for _, prefix := range []string{"WRONGPASS", "NOAUTH", "NOPERM", "ERR AUTH", "ERR invalid password", "ERR Client sent AUTH"} {
		if strings.HasPrefix(msg, prefix) {
			return fmt.Errorf("redis AUTH: the server refused the user or password (%s); check the user:password in the URL", firstWord(msg))
		}
	}
	return nil
}

// firstWord is the error code of a Redis error reply.
func firstWord(msg string) string {
	w, _, _ := strings.Cut(msg, " ")
	return w
}
