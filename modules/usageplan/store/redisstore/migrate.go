package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key records of earlier versions lived under names without a hash tag
// (keys, key:<id>, keyhash:<hash>), which a Redis Cluster cannot update
// atomically. migrateLoop moves them to the {keys} names once, after Open,
// retrying every second while Redis is unreachable; until it is done a
// lookup that misses also reads the old name.

func (s *Store) legacyKeySet() string            { return s.prefix + "keys" }
func (s *Store) legacyIDIndex(id string) string  { return s.prefix + "key:" + id }
func (s *Store) legacyRecord(hash string) string { return s.prefix + "keyhash:" + hash }

func (s *Store) migrateLoop() {
	defer s.done.Done()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.migrateKeys(ctx)
		cancel()
		if err == nil {
			s.migrated.Store(true)
			return
		}
		s.report(&s.reported.renew, fmt.Errorf("usage plans store: moving key records to the current layout (retrying): %w", err))
		select {
		case <-s.stop:
			return
		case <-time.After(time.Second):
		}
	}
}

// migrateKeys copies every legacy key record to its current name (never
// overwriting one) and deletes the legacy names. Running it again is
// harmless.
func (s *Store) migrateKeys(ctx context.Context) error {
	ids, err := s.rdb.SMembers(ctx, s.legacyKeySet()).Result()
	if err != nil {
		return err
	}
	for _, id := range ids {
		hash, err := s.rdb.Get(ctx, s.legacyIDIndex(id)).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return err
		}
		rec, err := s.rdb.Get(ctx, s.legacyRecord(hash)).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return err
		}
		if ok, err := s.createKey.Run(ctx, s.rdb, []string{s.idIndex(id), s.keyRecord(hash), s.keySet()}, rec, hash, id).Int(); err != nil {
			return err
		} else if ok == 1 {
			s.cache.forget(hash)
		}
		if err := s.rdb.Del(ctx, s.legacyIDIndex(id)).Err(); err != nil {
			return err
		}
		if err := s.rdb.Del(ctx, s.legacyRecord(hash)).Err(); err != nil {
			return err
		}
		if err := s.rdb.SRem(ctx, s.legacyKeySet(), id).Err(); err != nil {
			return err
		}
	}
	return nil
}
