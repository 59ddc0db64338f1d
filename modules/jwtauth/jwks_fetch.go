package jwtauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"go.uber.org/zap"
)

// maxDocumentBytes bounds a JWKS or discovery document.
const maxDocumentBytes = 1 << 20

// remoteConfig identifies a remote key set; equal configs share one
// remoteKeySet across handlers and config reloads.
type remoteConfig struct {
	// jwksURL is the JWKS URL, or empty for OIDC discovery.
	jwksURL string
	// issuerURL is the OIDC issuer whose discovery document names jwks_uri.
	issuerURL  string
	refresh    time.Duration
	minRefetch time.Duration
	timeout    time.Duration
}

// verificationKey is one usable key of a JWKS with its optional JWK alg.
type verificationKey struct {
	key any
	alg string
}

// keySnapshot is an immutable view of a fetched key set.
type keySnapshot struct {
	byKID      map[string][]verificationKey
	all        []verificationKey
	digest     [sha256.Size]byte
	generation uint64
}

// remoteKeySet fetches a JWKS (optionally through OIDC discovery), keeps
// the last good keys while the IdP is down, refreshes in the background and
// re-fetches on an unknown kid at most once per minRefetch. Its goroutine
// stops on Destruct.
type remoteKeySet struct {
	cfg    remoteConfig
	client *http.Client
	logger *zap.Logger
	now    func() time.Time

	current atomic.Pointer[keySnapshot]
	fetches atomic.Int64
	// started and lastSuccess (unix ns, 0 = never) give the key set's age.
	started     time.Time
	lastSuccess atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// ready is closed when the first fetch attempt has finished.
	ready chan struct{}

	mu          sync.Mutex
	lastAttempt time.Time
	lastOK      bool
	inflight    chan struct{}
	jwksURL     string
}

// newRemoteKeySet builds a key set; start launches its goroutine.
func newRemoteKeySet(cfg remoteConfig, client *http.Client, logger *zap.Logger, now func() time.Time) *remoteKeySet {
	ctx, cancel := context.WithCancel(context.Background())
	s := &remoteKeySet{cfg: cfg, client: client, logger: logger, now: now, started: now(),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), ready: make(chan struct{}), jwksURL: cfg.jwksURL}
	s.current.Store(&keySnapshot{})
	return s
}

// start runs the first fetch and the background refresh loop.
func (s *remoteKeySet) start() {
	go s.run()
}

func (s *remoteKeySet) run() {
	defer close(s.done)
	ok := s.fetchShared(true)
	close(s.ready)
	timer := time.NewTimer(s.nextDelay(ok))
	defer timer.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
			timer.Reset(s.nextDelay(s.fetchShared(true)))
		}
	}
}

// nextDelay is the regular refresh interval after a success and a short
// retry (min_refetch, at most the interval) after a failure.
func (s *remoteKeySet) nextDelay(ok bool) time.Duration {
	if ok || s.cfg.minRefetch >= s.cfg.refresh {
		return s.cfg.refresh
	}
	return s.cfg.minRefetch
}

// waitReady waits up to d for the first fetch so that the first requests
// after a config load already find keys; it never fails the load.
func (s *remoteKeySet) waitReady(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.ready:
	case <-t.C:
	case <-ctx.Done():
	}
}

// Destruct stops the refresh goroutine and cancels a fetch in flight; the
// caddy.UsagePool calls it when the last config using the set is gone.
func (s *remoteKeySet) Destruct() error {
	s.cancel()
	<-s.done
	s.client.CloseIdleConnections()
	return nil
}

// snapshot returns the current keys.
func (s *remoteKeySet) snapshot() *keySnapshot { return s.current.Load() }

// refetchUnknownKID re-fetches the set because a token named a kid it does
// not hold, unless the last attempt was less than min_refetch ago;
// concurrent callers wait for the one fetch in flight. The caller reads the
// set again afterwards either way.
func (s *remoteKeySet) refetchUnknownKID(ctx context.Context) {
	s.mu.Lock()
	if ch := s.inflight; ch != nil {
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		return
	}
	if !s.lastAttempt.IsZero() && s.now().Sub(s.lastAttempt) < s.cfg.minRefetch {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.fetchShared(false)
}

// fetchShared fetches once for all callers that ask at the same time and
// reports whether the fetch succeeded. background marks the periodic
// refresh, which is not bound by min_refetch.
func (s *remoteKeySet) fetchShared(background bool) bool {
	s.mu.Lock()
	if ch := s.inflight; ch != nil {
		s.mu.Unlock()
		<-ch
		return s.lastResult()
	}
	ch := make(chan struct{})
	s.inflight = ch
	s.lastAttempt = s.now()
	s.mu.Unlock()

	err := s.fetch()

	s.mu.Lock()
	s.inflight = nil
	s.lastOK = err == nil
	s.mu.Unlock()
	close(ch)
	if err != nil {
		if s.ctx.Err() == nil {
			jwksFetchFailuresTotal.Get().WithLabelValues(s.describe()).Inc()
			kept := len(s.snapshot().all)
			s.logger.Warn("jwks fetch failed; keeping the last good keys",
				zap.String("source", s.describe()), zap.Bool("background", background),
				zap.Int("kept_keys", kept), zap.Error(err))
		}
		return false
	}
	s.lastSuccess.Store(s.now().UnixNano())
	return true
}

// age is the time since the last successful fetch, or since the set
// started when no fetch succeeded yet.
func (s *remoteKeySet) age() time.Duration {
	if ns := s.lastSuccess.Load(); ns != 0 {
		return s.now().Sub(time.Unix(0, ns))
	}
	return s.now().Sub(s.started)
}

// lastResult reports whether the last finished fetch succeeded.
func (s *remoteKeySet) lastResult() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastOK
}

// describe names the key set in logs and metric labels: its kind and URL,
// without user info or query (which could carry a credential).
func (s *remoteKeySet) describe() string {
	if s.cfg.issuerURL != "" {
		return "oidc " + redactURL(s.cfg.issuerURL)
	}
	return "jwks " + redactURL(s.cfg.jwksURL)
}

// redactURL drops the user info, query and fragment of raw.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// issuerOf returns the discovered OIDC issuer ("" for a plain JWKS).
func (s *remoteKeySet) issuerOf() string {
	if s.cfg.issuerURL == "" {
		return ""
	}
	// The discovered issuer must equal the configured one (checked in
	// discover), so the configured value is authoritative.
	return s.cfg.issuerURL
}

// fetch performs one discovery (when needed) and JWKS download, and
// installs the new keys when they differ from the current ones.
func (s *remoteKeySet) fetch() error {
	s.fetches.Add(1)
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.timeout)
	defer cancel()
	s.mu.Lock()
	jwksURL := s.jwksURL
	s.mu.Unlock()
	if jwksURL == "" {
		u, err := discoverJWKSURL(ctx, s.client, s.cfg.issuerURL)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.jwksURL = u
		s.mu.Unlock()
		jwksURL = u
	}
	body, err := getDocument(ctx, s.client, jwksURL)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(body)
	old := s.snapshot()
	if digest == old.digest && len(old.all) > 0 {
		return nil
	}
	snap, skipped, err := parseKeySet(body)
	if err != nil {
		return err
	}
	if skipped > 0 {
		s.logger.Debug("jwks keys ignored (unknown kty, use other than sig, or invalid)",
			zap.String("source", s.describe()), zap.Int("ignored", skipped))
	}
	snap.digest = digest
	snap.generation = old.generation + 1
	s.current.Store(snap)
	s.logger.Info("jwks keys loaded", zap.String("source", s.describe()), zap.Int("keys", len(snap.all)))
	return nil
}

// getDocument GETs a JSON document of bounded size.
func getDocument(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocumentBytes))
		return nil, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > maxDocumentBytes {
		return nil, fmt.Errorf("GET %s: document larger than %d bytes", url, maxDocumentBytes)
	}
	return body, nil
}

// errNoUsableKeys means a JWKS held no key jwt_auth can verify with; the
// previous keys are kept.
var errNoUsableKeys = errors.New("the JWKS holds no usable signing key")

// parseKeySet turns a JWKS document into a snapshot. Keys of an unknown
// kty, with use other than "sig", symmetric keys, and keys that fail
// validation are skipped (and counted); x5u is never followed.
func parseKeySet(body []byte) (*keySnapshot, int, error) {
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, 0, fmt.Errorf("decode JWKS: %w", err)
	}
	snap := &keySnapshot{byKID: make(map[string][]verificationKey, len(set.Keys))}
	skipped := 0
	for _, m := range set.Keys {
		if m.USE != "" && m.USE != jwkset.UseSig {
			skipped++
			continue
		}
		m.X5U = "" // never fetched
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			skipped++
			continue
		}
		key := jwk.Key()
		if fam, _ := familyOfKey(key); fam == familyNone {
			skipped++
			continue
		}
		alg := m.ALG.String()
		if alg != "" && !keyFitsAlgorithm(key, alg) {
			skipped++
			continue
		}
		vk := verificationKey{key: key, alg: alg}
		snap.all = append(snap.all, vk)
		snap.byKID[m.KID] = append(snap.byKID[m.KID], vk)
	}
	if len(snap.all) == 0 {
		return nil, skipped, errNoUsableKeys
	}
	return snap, skipped, nil
}
