package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// CreateKey implements store.Keys.
func (s *Store) CreateKey(ctx context.Context, k store.Key) error {
	v, err := json.Marshal(k)
	if err != nil {
		return err
	}
	ok, err := s.createKey.Run(ctx, s.rdb, []string{s.keyRecord(k.ID), s.hashIndex(k.Hash), s.keySet()}, string(v), k.ID).Int()
	if err != nil {
		return fmt.Errorf("usage plans store: redis create key: %w", err)
	}
	if ok == 0 {
		return store.ErrExists
	}
	s.cache.forget(k.Hash)
	return nil
}

// KeyByID implements store.Keys.
func (s *Store) KeyByID(ctx context.Context, id string) (store.Key, error) {
	v, err := s.rdb.Get(ctx, s.keyRecord(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return store.Key{}, store.ErrNotFound
	}
	if err != nil {
		return store.Key{}, fmt.Errorf("usage plans store: redis get key: %w", err)
	}
	var k store.Key
	if err := json.Unmarshal(v, &k); err != nil {
		return store.Key{}, fmt.Errorf("usage plans store: decoding key %s: %w", id, err)
	}
	return k, nil
}

// KeyByHash implements store.Keys, cached for Options.KeyCache so the
// request path stays at one Redis round trip.
func (s *Store) KeyByHash(ctx context.Context, hash string) (store.Key, error) {
	if k, err, ok := s.cache.get(hash); ok {
		return k, err
	}
	id, err := s.rdb.Get(ctx, s.hashIndex(hash)).Result()
	if errors.Is(err, redis.Nil) {
		s.cache.put(hash, store.Key{}, store.ErrNotFound)
		return store.Key{}, store.ErrNotFound
	}
	if err != nil {
		return s.lastKnown(hash, fmt.Errorf("usage plans store: redis key lookup: %w", err))
	}
	k, err := s.KeyByID(ctx, id)
	if err == nil || errors.Is(err, store.ErrNotFound) {
		s.cache.put(hash, k, err)
		return k, err
	}
	return s.lastKnown(hash, err)
}

// lastKnown answers a lookup that failed with the last good answer for
// hash, if any (like a JWKS cache keeping the last keys while the IdP is
// down), so known keys keep working through a Redis outage when
// on_store_error allow lets their requests through.
func (s *Store) lastKnown(hash string, err error) (store.Key, error) {
	if k, kerr, ok := s.cache.stale(hash); ok {
		return k, kerr
	}
	return store.Key{}, err
}

// UpdateKey implements store.Keys (optimistic transaction on the record).
func (s *Store) UpdateKey(ctx context.Context, id string, change func(*store.Key)) (store.Key, error) {
	var out store.Key
	rec := s.keyRecord(id)
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		v, err := tx.Get(ctx, rec).Bytes()
		if errors.Is(err, redis.Nil) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		var k store.Key
		if err := json.Unmarshal(v, &k); err != nil {
			return err
		}
		change(&k)
		k.ID = id
		nv, err := json.Marshal(k)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, rec, nv, 0)
			return nil
		})
		out = k
		return err
	}, rec)
	if errors.Is(err, store.ErrNotFound) {
		return store.Key{}, err
	}
	if err != nil {
		return store.Key{}, fmt.Errorf("usage plans store: redis update key: %w", err)
	}
	s.cache.forget(out.Hash)
	return out, nil
}

// DeleteKey implements store.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	k, err := s.KeyByID(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.keyRecord(id), s.hashIndex(k.Hash))
		p.SRem(ctx, s.keySet(), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("usage plans store: redis delete key: %w", err)
	}
	s.cache.forget(k.Hash)
	return nil
}

// ListKeys implements store.Keys.
func (s *Store) ListKeys(ctx context.Context) ([]store.Key, error) {
	ids, err := s.rdb.SMembers(ctx, s.keySet()).Result()
	if err != nil {
		return nil, fmt.Errorf("usage plans store: redis list keys: %w", err)
	}
	out := make([]store.Key, 0, len(ids))
	for _, id := range ids {
		k, err := s.KeyByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// keyCache remembers key lookups (found or not) for a short time.
type keyCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cachedKey
}

type cachedKey struct {
	key     store.Key
	err     error
	expires time.Time
}

// maxCachedKeys bounds the cache (unknown keys are cached too).
const maxCachedKeys = 100000

func newKeyCache(ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{ttl: ttl, now: now, m: map[string]cachedKey{}}
}

func (c *keyCache) get(hash string) (store.Key, error, bool) {
	if c.ttl < 0 {
		return store.Key{}, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || c.now().After(e.expires) {
		return store.Key{}, nil, false
	}
	return e.key, e.err, true
}

func (c *keyCache) put(hash string, k store.Key, err error) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
	c.m[hash] = cachedKey{key: k, err: err, expires: c.now().Add(c.ttl)}
}

// stale returns an entry even after its TTL.
func (c *keyCache) stale(hash string) (store.Key, error, bool) {
	if c.ttl < 0 {
		return store.Key{}, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	return e.key, e.err, ok
}

func (c *keyCache) forget(hash string) {
	c.mu.Lock()
	delete(c.m, hash)
	c.mu.Unlock()
}
