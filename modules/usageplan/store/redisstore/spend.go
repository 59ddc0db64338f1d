package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// ChargeMeters implements store.Meters in one round trip (meter.lua): the
// once-mark and every meter's counters share the key's hash tag, so the
// script touches one Redis Cluster slot.
func (s *Store) ChargeMeters(ctx context.Context, c store.MeterCharge) (bool, error) {
	keys := make([]string, 0, 1+2*len(c.Units))
	keys = append(keys, s.onceKey(c.KeyID, c.Plan, c.Once))
	var onceTTL int64
	if c.Once != "" {
		onceTTL = c.OnceTTL.Milliseconds()
		if onceTTL <= 0 {
			onceTTL = store.DefaultOnceTTL.Milliseconds()
		}
	}
	args := make([]any, 0, 3+4*len(c.Units))
	args = append(args, s.scriptNow(c.Now), onceTTL, int64(dayTTL/time.Second))
	for _, u := range c.Units {
		counter := store.MeterCounter(c.Plan, u.Meter)
		keys = append(keys, s.planKey(c.KeyID, counter), s.dayPrefix(c.KeyID, counter))
		args = append(args, u.Units, u.Window.Limit, string(u.Window.Period), u.Window.Offset.Microseconds())
	}
	n, err := s.meter.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("usage plans store: redis meter charge: %w", err)
	}
	return n == 1, nil
}

// PutRecord implements store.Records.
func (s *Store) PutRecord(ctx context.Context, name, value string, ttl time.Duration) (string, bool, error) {
	res, err := s.putRecord.Run(ctx, s.rdb, []string{s.recordKey(name)}, value, ttl.Milliseconds()).Slice()
	if err != nil || len(res) != 2 {
		return "", false, fmt.Errorf("usage plans store: redis put record: %w", errors.Join(err, errors.New("unexpected reply")))
	}
	stored, _ := res[0].(string)
	created, _ := res[1].(int64)
	return stored, created == 1, nil
}

// GetRecord implements store.Records.
func (s *Store) GetRecord(ctx context.Context, name string) (string, error) {
	v, err := s.rdb.Get(ctx, s.recordKey(name)).Result()
	if errors.Is(err, redis.Nil) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("usage plans store: redis get record: %w", err)
	}
	return v, nil
}

// DeleteRecord implements store.Records.
func (s *Store) DeleteRecord(ctx context.Context, name string) error {
	if err := s.rdb.Del(ctx, s.recordKey(name)).Err(); err != nil {
		return fmt.Errorf("usage plans store: redis delete record: %w", err)
	}
	return nil
}

// LastUsed implements store.KeyActivity with one pipeline (each key's time
// sits in its own hash slot). A decision writes the time at most once a
// minute per key and plan (see decide.lua), so it is the last admission to
// within a minute.
func (s *Store) LastUsed(ctx context.Context, ids []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.lastUsedKey(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("usage plans store: redis last used: %w", err)
	}
	for i, id := range ids {
		if us, err := strconv.ParseInt(cmds[i].Val(), 10, 64); err == nil && us > 0 {
			out[id] = time.UnixMicro(us).UTC()
		}
	}
	return out, nil
}

// maxPodAttempts bounds the optimistic retries of a pod change.
const maxPodAttempts = 10

// changePods runs fn on owner's pods in an optimistic transaction (WATCH
// on the owner's one Redis key, retried when another instance changed it
// meanwhile), so every instance applies the caps to the same pods. fn
// returns the new entries, or false to change nothing.
func (s *Store) changePods(ctx context.Context, owner string, now time.Time, fn func([]store.PodEntry) ([]store.PodEntry, bool)) error {
	key := s.podsKey(owner)
	txn := func(tx *redis.Tx) error {
		entries, err := readPods(ctx, tx, key)
		if err != nil {
			return err
		}
		next, changed := fn(store.LivePods(entries, now))
		if !changed {
			return nil
		}
		v, err := json.Marshal(next)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if len(next) == 0 {
				p.Del(ctx, key)
			} else {
				p.Set(ctx, key, v, 0)
			}
			return nil
		})
		return err
	}
	var err error
	for range maxPodAttempts {
		if err = s.rdb.Watch(ctx, txn, key); !errors.Is(err, redis.TxFailedErr) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("usage plans store: redis pods: %w", err)
	}
	return nil
}

func readPods(ctx context.Context, c redis.Cmdable, key string) ([]store.PodEntry, error) {
	v, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var entries []store.PodEntry
	if err := json.Unmarshal(v, &entries); err != nil {
		return nil, fmt.Errorf("decoding pods: %w", err)
	}
	return entries, nil
}

// ReservePod implements store.Pods.
func (s *Store) ReservePod(ctx context.Context, owner string, e store.PodEntry, caps store.PodCaps, now time.Time) (string, error) {
	var exceeded string
	err := s.changePods(ctx, owner, now, func(entries []store.PodEntry) ([]store.PodEntry, bool) {
		if exceeded = store.CheckPodCaps(entries, e, caps, now); exceeded != "" {
			return nil, false
		}
		return store.WithPod(entries, e, ""), true
	})
	return exceeded, err
}

// PutPod implements store.Pods.
func (s *Store) PutPod(ctx context.Context, owner string, e store.PodEntry, drop string) error {
	return s.changePods(ctx, owner, s.now(), func(entries []store.PodEntry) ([]store.PodEntry, bool) {
		return store.WithPod(entries, e, drop), true
	})
}

// RemovePod implements store.Pods.
func (s *Store) RemovePod(ctx context.Context, owner, id string) error {
	return s.changePods(ctx, owner, s.now(), func(entries []store.PodEntry) ([]store.PodEntry, bool) {
		return store.WithoutPod(entries, id), true
	})
}

// OwnerPods implements store.Pods.
func (s *Store) OwnerPods(ctx context.Context, owner string, now time.Time) ([]store.PodEntry, error) {
	entries, err := readPods(ctx, s.rdb, s.podsKey(owner))
	if err != nil {
		return nil, fmt.Errorf("usage plans store: redis pods: %w", err)
	}
	return store.LivePods(entries, now), nil
}

// alias is the record left under a rotated key's old hash during its grace
// period: it names the key, whose record says whether the old value is
// still accepted (store.Key.AcceptsHash).
type alias struct {
	AliasOf string `json:"alias_of"`
}

// aliasGraceMargin keeps an alias a little past the grace period (the
// caller refuses the old value after it anyway).
const aliasGraceMargin = time.Minute

// RotateKey implements store.Keys: the key's record moves to newHash, and
// an alias under the old hash finds it until the grace period ends; one
// optimistic transaction on the {keys} slot.
func (s *Store) RotateKey(ctx context.Context, id, newHash string, graceUntil time.Time) (store.Key, error) {
	idx := s.idIndex(id)
	newRec := s.keyRecord(newHash)
	var out store.Key
	var dropped string
	txn := func(tx *redis.Tx) error {
		oldHash, err := tx.Get(ctx, idx).Result()
		if errors.Is(err, redis.Nil) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if oldHash == newHash {
			return store.ErrExists
		}
		if n, err := tx.Exists(ctx, newRec).Result(); err != nil || n > 0 {
			return errors.Join(err, store.ErrExists)
		}
		oldRec := s.keyRecord(oldHash)
		if err := tx.Watch(ctx, oldRec).Err(); err != nil {
			return err
		}
		k, err := txKeyRecord(ctx, tx, oldRec)
		if err != nil {
			return err
		}
		prevAlias := k.PreviousHash
		dropped = prevAlias
		k.PreviousHash, k.PreviousUntil, k.Hash, k.Rotated = oldHash, graceUntil, newHash, s.now().UTC()
		nv, err := json.Marshal(k)
		if err != nil {
			return err
		}
		av, _ := json.Marshal(alias{AliasOf: id})
		ttl := time.Until(graceUntil) + aliasGraceMargin
		if ttl < aliasGraceMargin {
			ttl = aliasGraceMargin
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if prevAlias != "" && prevAlias != oldHash {
				p.Del(ctx, s.keyRecord(prevAlias))
			}
			p.Set(ctx, newRec, nv, 0)
			p.Set(ctx, idx, newHash, 0)
			p.Set(ctx, oldRec, av, ttl)
			return nil
		})
		out = k
		return err
	}
	err := s.watchRetried(ctx, txn, idx, newRec)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists):
		if errors.Is(err, store.ErrExists) {
			return store.Key{}, store.ErrExists
		}
		return store.Key{}, store.ErrNotFound
	case err != nil:
		return store.Key{}, fmt.Errorf("usage plans store: redis rotate key: %w", err)
	}
	s.cache.forget(out.PreviousHash)
	s.cache.forget(newHash)
	if dropped != "" {
		s.cache.forget(dropped)
	}
	return out, nil
}

// followAlias returns the key an alias record names, or v's key.
func (s *Store) followAlias(ctx context.Context, v []byte) (store.Key, error) {
	var a alias
	if json.Unmarshal(v, &a) == nil && a.AliasOf != "" {
		hash, err := s.rdb.Get(ctx, s.idIndex(a.AliasOf)).Result()
		if errors.Is(err, redis.Nil) {
			return store.Key{}, store.ErrNotFound
		}
		if err != nil {
			return store.Key{}, fmt.Errorf("usage plans store: redis key lookup: %w", err)
		}
		v, err = s.rdb.Get(ctx, s.keyRecord(hash)).Bytes()
		if errors.Is(err, redis.Nil) {
			return store.Key{}, store.ErrNotFound
		}
		if err != nil {
			return store.Key{}, fmt.Errorf("usage plans store: redis key lookup: %w", err)
		}
	}
	return decodeKey(v)
}
