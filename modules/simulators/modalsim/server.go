package modalsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/internal/loopback"
)

// Server is a running simulator.
type Server struct {
	*Simulator
	// URL is the base URL, http://127.0.0.1:PORT or https://localhost:PORT.
	URL string
	// CAFile is the PEM file of the CA that signed the TLS certificate
	// (StartTLS only): point the gateway's tls_ca at it.
	CAFile string

	srv *loopback.Server
}

// Close stops serving (for tests of an unreachable upstream); it is safe
// to call again when the test ends.
func (s *Server) Close() { s.srv.Close() }

// TB is what Start and StartTLS need of a test; *testing.T and *testing.B
// satisfy it.
type TB = loopback.TB

// Start serves s over plain HTTP on a loopback port until the test ends.
func (s *Simulator) Start(t TB) *Server {
	t.Helper()
	srv := loopback.Serve(t, s, nil)
	return &Server{Simulator: s, URL: srv.URL, srv: srv}
}

// StartTLS serves s over HTTPS with a certificate for "localhost" signed
// by a fresh test CA, so a client must send the right SNI and trust the CA
// to connect. URL uses the host name localhost; CAFile is written to a
// temporary directory removed when the test ends.
func (s *Simulator) StartTLS(t TB) *Server {
	t.Helper()
	ca, err := NewTestCA()
	if err != nil {
		t.Fatalf("modalsim test CA: %v", err)
	}
	dir, err := os.MkdirTemp("", "modalsim-ca-")
	if err != nil {
		t.Fatalf("modalsim test CA: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	caFile := filepath.Join(dir, "modalsim-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatalf("modalsim test CA: %v", err)
	}
	srv := loopback.Serve(t, s, &tls.Config{Certificates: []tls.Certificate{ca.Leaf}, MinVersion: tls.VersionTLS12})
	return &Server{Simulator: s, URL: srv.URL, CAFile: caFile, srv: srv}
}

// TestCA is a throw-away CA with one server certificate for localhost,
// 127.0.0.1 and ::1.
type TestCA struct {
	CertPEM []byte
	Leaf    tls.Certificate
}

// NewTestCA creates a CA and a leaf certificate valid for one day.
func NewTestCA() (*TestCA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "modalsim test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	return &TestCA{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Leaf:    tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey},
	}, nil
}

// Paths returns the paths of the recorded requests ("METHOD /path?query"),
// handy in test failure messages.
func (s *Simulator) Paths() []string {
	var out []string
	for _, r := range s.Requests() {
		p := r.Method + " " + r.Path
		if r.Query != "" {
			p += "?" + r.Query
		}
		out = append(out, p)
	}
	return out
}

// Received returns the recorded requests whose path starts with prefix.
func (s *Simulator) Received(prefix string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

var _ http.Handler = (*Simulator)(nil)
