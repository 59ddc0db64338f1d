package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Key records live under their hash (one GET on the request path), with an
// id index for the admin API: keyhash:<hash> -> JSON, key:<id> -> hash.

// CreateKey implements store.Keys.
func (s *Store) CreateKey(ctx context.Context, k store.Key) error {
	v, err := json.Marshal(k)
	if err != nil {
		return err
	}
	ok, err := s.createKey.Run(ctx, s.rdb, []string{s.idIndex(k.ID), s.keyRecord(k.Hash), s.keySet()}, string(v), k.Hash, k.ID).Int()
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
	hash, err := s.rdb.Get(ctx, s.idIndex(id)).Result()
	if errors.Is(err, redis.Nil) {
		return store.Key{}, store.ErrNotFound
	}
	if err != nil {
		return store.Key{}, fmt.Errorf("usage plans store: redis get key: %w", err)
	}
	return s.fetchKey(ctx, hash)
}

// fetchKey reads the record of hash from Redis (from its legacy name
// too while the migration has not run).
func (s *Store) fetchKey(ctx context.Context, hash string) (store.Key, error) {
	// Read before the lookup: a move that ends between the lookup and the
	// check would otherwise send a just-moved key to no name at all.
	migrated := s.migrated.Load()
	v, err := s.rdb.Get(ctx, s.keyRecord(hash)).Bytes()
	if errors.Is(err, redis.Nil) && !migrated {
		v, err = s.rdb.Get(ctx, s.legacyRecord(hash)).Bytes()
		if errors.Is(err, redis.Nil) {
			// The move writes the new name before it deletes the old
			// one: missing at both means it just moved.
			v, err = s.rdb.Get(ctx, s.keyRecord(hash)).Bytes()
		}
	}
	if errors.Is(err, redis.Nil) {
		return store.Key{}, store.ErrNotFound
	}
	if err != nil {
		return store.Key{}, fmt.Errorf("usage plans store: redis key lookup: %w", err)
	}
	return s.followAlias(ctx, v)
}

func decodeKey(v []byte) (store.Key, error) {
	var k store.Key
	if err := json.Unmarshal(v, &k); err != nil {
		return store.Key{}, fmt.Errorf("usage plans store: decoding a stored key: %w", err)
	}
	return k, nil
}

// KeyByHash implements store.Keys: one GET, cached for Options.KeyCache so
// the request path usually stays at one Redis round trip (the decision).
func (s *Store) KeyByHash(ctx context.Context, hash string) (store.Key, error) {
	if k, err, ok := s.cache.get(hash); ok {
		return k, err
	}
	k, err := s.fetchKey(ctx, hash)
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

// maxUpdateAttempts bounds the optimistic retries of a key change.
const maxUpdateAttempts = 5

// watchRetried runs the optimistic transaction txn watching keys, again
// (up to maxUpdateAttempts times) while another writer got there first.
func (s *Store) watchRetried(ctx context.Context, txn func(*redis.Tx) error, keys ...string) error {
	var err error
	for range maxUpdateAttempts {
		if err = s.rdb.Watch(ctx, txn, keys...); !errors.Is(err, redis.TxFailedErr) {
			break
		}
	}
	return err
}

// txKeyRecord reads and decodes the key record rec inside a transaction
// (store.ErrNotFound when there is none).
func txKeyRecord(ctx context.Context, tx *redis.Tx, rec string) (store.Key, error) {
	v, err := tx.Get(ctx, rec).Bytes()
	if errors.Is(err, redis.Nil) {
		return store.Key{}, store.ErrNotFound
	}
	if err != nil {
		return store.Key{}, err
	}
	return decodeKey(v)
}

// UpdateKey implements store.Keys (optimistic transaction on the record,
// retried when another writer got there first).
func (s *Store) UpdateKey(ctx context.Context, id string, change func(*store.Key)) (store.Key, error) {
	hash, err := s.rdb.Get(ctx, s.idIndex(id)).Result()
	if errors.Is(err, redis.Nil) {
		return store.Key{}, store.ErrNotFound
	}
	if err != nil {
		return store.Key{}, fmt.Errorf("usage plans store: redis update key: %w", err)
	}
	rec := s.keyRecord(hash)
	var out store.Key
	txn := func(tx *redis.Tx) error {
		k, err := txKeyRecord(ctx, tx, rec)
		if err != nil {
			return err
		}
		change(&k)
		k.ID, k.Hash = id, hash
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
	}
	err = s.watchRetried(ctx, txn, rec)
	if errors.Is(err, store.ErrNotFound) {
		return store.Key{}, err
	}
	if err != nil {
		return store.Key{}, fmt.Errorf("usage plans store: redis update key: %w", err)
	}
	s.cache.forget(hash)
	return out, nil
}

// DeleteKey implements store.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	k, err := s.KeyByID(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.idIndex(id), s.keyRecord(k.Hash))
		if k.PreviousHash != "" {
			p.Del(ctx, s.keyRecord(k.PreviousHash))
		}
		p.SRem(ctx, s.keySet(), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("usage plans store: redis delete key: %w", err)
	}
	s.cache.forget(k.Hash)
	s.cache.forget(k.PreviousHash)
	return nil
}

// ListKeys implements store.Keys in three round trips whatever the number
// of keys (ids, then hashes, then records).
func (s *Store) ListKeys(ctx context.Context) ([]store.Key, error) {
	ids, err := s.rdb.SMembers(ctx, s.keySet()).Result()
	if err != nil {
		return nil, fmt.Errorf("usage plans store: redis list keys: %w", err)
	}
	out := []store.Key{}
	if len(ids) == 0 {
		return out, nil
	}
	hashes, err := s.mget(ctx, ids, s.idIndex)
	if err != nil {
		return nil, err
	}
	records, err := s.mget(ctx, hashes, s.keyRecord)
	if err != nil {
		return nil, err
	}
	for _, v := range records {
		if v == "" {
			continue // deleted meanwhile
		}
		k, err := decodeKey([]byte(v))
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	store.SortKeys(out)
	return out, nil
}

// mget reads name(x) for every x; a missing value is "".
func (s *Store) mget(ctx context.Context, xs []string, name func(string) string) ([]string, error) {
	keys := make([]string, 0, len(xs))
	for _, x := range xs {
		if x != "" {
			keys = append(keys, name(x))
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("usage plans store: redis list keys: %w", err)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i], _ = v.(string)
	}
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
