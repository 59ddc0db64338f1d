// Package loopback serves a simulator on a random loopback port for as long
// as its owner (a test) lives. It does what net/http/httptest does for the
// simulators' Start helpers without pulling the testing packages into the
// gateway binary, which links the simulators in.
package loopback

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// TB is the part of testing.TB the Start helpers use; *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Server is a handler served on 127.0.0.1.
type Server struct {
	// URL is http://127.0.0.1:<port>, or https://localhost:<port> with TLS.
	URL string
	// Port is the listening port.
	Port int

	srv       *http.Server
	done      chan struct{}
	closeOnce sync.Once
}

// shutdownGrace is how long Close lets requests in flight finish before it
// closes their connections.
const shutdownGrace = 5 * time.Second

// Serve serves h on a free 127.0.0.1 port (over TLS, HTTP/2 included, when
// tlsConfig is not nil; it must hold a certificate) and closes it when t's
// test ends.
func Serve(t TB, h http.Handler, tlsConfig *tls.Config) *Server {
	t.Helper()
	if tlsConfig != nil && len(tlsConfig.Certificates) == 0 && tlsConfig.GetCertificate == nil {
		t.Fatalf("simulator listener: the TLS config has no certificate")
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("simulator listener: %v", err)
		return nil
	}
	s := &Server{Port: l.Addr().(*net.TCPAddr).Port, done: make(chan struct{}),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.Port)
	if tlsConfig != nil {
		cfg := tlsConfig.Clone()
		if len(cfg.NextProtos) == 0 {
			cfg.NextProtos = []string{"h2", "http/1.1"}
		}
		l = tls.NewListener(l, cfg)
		s.URL = fmt.Sprintf("https://localhost:%d", s.Port)
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(l) // http.ErrServerClosed once Close ran
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops the listener (later connections are refused), lets requests
// in flight finish for a few seconds, then closes every connection and
// waits for the server to stop. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if s.srv.Shutdown(ctx) != nil {
			_ = s.srv.Close()
		}
		<-s.done
	})
}
