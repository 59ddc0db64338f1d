package testkit

import (
	"crypto"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
)

// JWKSServer is an identity provider for tests: it serves a JWKS at
// /jwks.json and an OpenID discovery document at
// /.well-known/openid-configuration (issuer = URL), rotates keys, goes down
// and comes back, and counts fetches. It listens on 127.0.0.1 over plain
// HTTP (jwt_auth accepts http only for loopback hosts).
type JWKSServer struct {
	// URL is the base URL and the OIDC issuer, e.g. http://127.0.0.1:41234.
	URL string

	srv         *httptest.Server
	fetches     atomic.Int64
	discoveries atomic.Int64

	mu     sync.Mutex
	keys   []jwkset.JWKMarshal
	raw    []byte
	status int
	delay  time.Duration
}

// JWK describes one key to publish.
type JWK struct {
	// KID is the key id.
	KID string
	// Key is a private key (its public half is published) or a public key.
	Key any
	// Alg, when set, is published as the key's alg.
	Alg string
	// Use, when set, is published as the key's use ("sig" or "enc").
	Use string
}

// StartJWKS starts the server with the given keys and stops it when the
// test ends.
func StartJWKS(t testing.TB, keys ...JWK) *JWKSServer {
	t.Helper()
	s := &JWKSServer{status: http.StatusOK}
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks.json", s.serveJWKS)
	mux.HandleFunc("/.well-known/openid-configuration", s.serveDiscovery)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	s.SetKeys(t, keys...)
	return s
}

// JWKSURL is the URL of the key set.
func (s *JWKSServer) JWKSURL() string { return s.URL + "/jwks.json" }

// Issuer is the OIDC issuer (the base URL).
func (s *JWKSServer) Issuer() string { return s.URL }

// SetKeys replaces the published keys (a rotation that drops the old ones).
func (s *JWKSServer) SetKeys(t testing.TB, keys ...JWK) {
	t.Helper()
	set := make([]jwkset.JWKMarshal, 0, len(keys))
	for _, k := range keys {
		set = append(set, marshalJWK(t, k))
	}
	s.mu.Lock()
	s.keys, s.raw = set, nil
	s.mu.Unlock()
}

// AddKey publishes one more key next to the current ones (a rotation that
// keeps the old key during the overlap).
func (s *JWKSServer) AddKey(t testing.TB, k JWK) {
	t.Helper()
	m := marshalJWK(t, k)
	s.mu.Lock()
	s.keys = append(s.keys, m)
	s.mu.Unlock()
}

// SetRaw serves body verbatim as the JWKS (unknown kty, garbage...);
// SetKeys goes back to generated keys.
func (s *JWKSServer) SetRaw(body string) {
	s.mu.Lock()
	s.raw = []byte(body)
	s.mu.Unlock()
}

// Down makes both endpoints answer 503 until Up.
func (s *JWKSServer) Down() { s.setStatus(http.StatusServiceUnavailable) }

// Up makes the endpoints answer again.
func (s *JWKSServer) Up() { s.setStatus(http.StatusOK) }

// SetDelay delays every answer by d (a slow or hanging IdP).
func (s *JWKSServer) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Fetches returns how many times the JWKS was requested (also while down).
func (s *JWKSServer) Fetches() int { return int(s.fetches.Load()) }

// Discoveries returns how many times the discovery document was requested.
func (s *JWKSServer) Discoveries() int { return int(s.discoveries.Load()) }

func (s *JWKSServer) setStatus(code int) {
	s.mu.Lock()
	s.status = code
	s.mu.Unlock()
}

// answer waits out the delay (or the client's cancellation) and reports
// whether the endpoint is up.
func (s *JWKSServer) answer(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	status, delay := s.status, s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return false
		}
	}
	if status != http.StatusOK {
		http.Error(w, "identity provider unavailable", status)
		return false
	}
	return true
}

func (s *JWKSServer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	if !s.answer(w, r) {
		return
	}
	s.mu.Lock()
	body := s.raw
	if body == nil {
		body, _ = json.Marshal(jwkset.JWKSMarshal{Keys: s.keys})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (s *JWKSServer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	s.discoveries.Add(1)
	if !s.answer(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                s.Issuer(),
		"jwks_uri":                              s.JWKSURL(),
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "EdDSA"},
	})
}

// marshalJWK turns a test key into its public JWK.
func marshalJWK(t testing.TB, k JWK) jwkset.JWKMarshal {
	t.Helper()
	key := k.Key
	if signer, ok := key.(crypto.Signer); ok {
		key = signer.Public()
	}
	jwk, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		KID: k.KID, ALG: jwkset.ALG(k.Alg), USE: jwkset.USE(k.Use)}})
	if err != nil {
		t.Fatalf("testkit: JWK %s: %v", k.KID, err)
	}
	return jwk.Marshal()
}
