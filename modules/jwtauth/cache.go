package jwtauth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// tokenKey is the SHA-256 of a token: the cache never holds token text.
type tokenKey [sha256.Size]byte

// tokenCache remembers verified tokens so that a hot client does not pay
// signature verification on every request. It is bounded (a random entry
// is evicted when full, after expired ones), and an entry is never used at
// or past the token's exp, nor after its key source's keys changed.
type tokenCache struct {
	max int
	now func() time.Time

	mu      sync.RWMutex
	entries map[tokenKey]*identity
}

// newTokenCache returns a cache of at most max entries; max <= 0 returns
// nil, which disables caching (all methods accept a nil cache).
func newTokenCache(max int, now func() time.Time) *tokenCache {
	if max <= 0 {
		return nil
	}
	return &tokenCache{max: max, now: now, entries: make(map[tokenKey]*identity)}
}

// get returns the cached identity of key when it is still valid.
func (c *tokenCache) get(key tokenKey) *identity {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	id := c.entries[key]
	c.mu.RUnlock()
	if id == nil {
		return nil
	}
	if !c.now().Before(id.expires) || id.source.generation() != id.generation {
		c.mu.Lock()
		if c.entries[key] == id {
			delete(c.entries, key)
		}
		c.mu.Unlock()
		return nil
	}
	return id
}

// put stores a verified identity under key.
func (c *tokenCache) put(key tokenKey, id *identity) {
	if c == nil || !c.now().Before(id.expires) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.entries[key]; !exists && len(c.entries) >= c.max {
		c.evictLocked()
	}
	c.entries[key] = id
}

// evictionSample is how many entries put looks at to make room.
const evictionSample = 8

// evictLocked makes room in O(1): it samples a few entries (Go map
// iteration starts at a random position), drops the expired ones among
// them, or else the one that expires soonest.
func (c *tokenCache) evictLocked() {
	now := c.now()
	var victim tokenKey
	var victimExpires time.Time
	removed, seen := 0, 0
	for k, id := range c.entries {
		if !now.Before(id.expires) {
			delete(c.entries, k)
			removed++
		} else if seen == 0 || id.expires.Before(victimExpires) {
			victim, victimExpires = k, id.expires
		}
		if seen++; seen >= evictionSample {
			break
		}
	}
	if removed == 0 && seen > 0 {
		delete(c.entries, victim)
	}
}

// len returns the number of entries.
func (c *tokenCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
