package certstorage

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

var (
	//go:embed store.lua
	storeSource string
	//go:embed delete.lua
	deleteSource string
	//go:embed stat.lua
	statSource string
	//go:embed renew.lua
	renewSource string
	//go:embed unlock.lua
	unlockSource string

	storeScript  = redis.NewScript(storeSource)
	deleteScript = redis.NewScript(deleteSource)
	statScript   = redis.NewScript(statSource)
	renewScript  = redis.NewScript(renewSource)
	unlockScript = redis.NewScript(unlockSource)
)

// Errors of Store when a key would be both a file and a directory (a file
// system refuses the same).
var (
	ErrIsDirectory  = errors.New("is a directory")
	ErrNotDirectory = errors.New("a parent is a file, not a directory")
)

// redisStorage is the certmagic.Storage on Redis. Its Redis client (and
// the table of locks it holds) may be shared with other redisStorage
// values of the same URL, the configs before and after a reload.
type redisStorage struct {
	rdb     redis.UniversalClient
	keys    keyspace
	locks   *lockTable
	timeout time.Duration // bound of one Redis call
	lockTTL time.Duration // expiry of a lock whose holder stopped renewing it
	poll    time.Duration // how often a waiting Lock tries again
	name    string        // String(): the prefix, never the URL
	logger  *zap.Logger
	metrics *storageMetrics
}

var (
	_ certmagic.Storage   = (*redisStorage)(nil)
	_ certmagic.TryLocker = (*redisStorage)(nil)
)

// String names the storage in Caddy's logs (certmagic logs the storage
// value): the key prefix, never the URL or its password.
func (s *redisStorage) String() string { return "gpugate_redis:" + s.name }

// call bounds one Redis call by the storage timeout (and ctx).
func (s *redisStorage) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// failed counts and wraps a Redis error of operation op on key.
func (s *redisStorage) failed(op, key string, err error) error {
	s.metrics.errors.WithLabelValues(op).Inc()
	return fmt.Errorf("%s: %s %q: %w", s, op, key, err)
}

// notExist is the error of Load, Stat and List for a missing key.
func notExist(key string) error {
	return &fs.PathError{Op: "open", Path: key, Err: fs.ErrNotExist}
}

// Store puts value at key atomically: a concurrent Load sees the old value
// or the new one, never part of either.
func (s *redisStorage) Store(ctx context.Context, key string, value []byte) error {
	key = cleanKey(key)
	if key == "" {
		return fmt.Errorf("%s: cannot store at the root key", s)
	}
	args := append([]any{key, value}, anySlice(ancestors(key))...)
	ctx, cancel := s.call(ctx)
	defer cancel()
	err := storeScript.Run(ctx, s.rdb, s.keys.fileKeys(), args...).Err()
	if err != nil {
		msg := err.Error()
		switch {
		case strings.HasPrefix(msg, "ERR_ISDIR"):
			return fmt.Errorf("%s: store %q: %w", s, key, ErrIsDirectory)
		case strings.HasPrefix(msg, "ERR_NOTDIR"):
			return fmt.Errorf("%s: store %q: %w (%q is a file)", s, key, ErrNotDirectory, strings.TrimSpace(strings.TrimPrefix(msg, "ERR_NOTDIR")))
		}
		return s.failed("store", key, err)
	}
	return nil
}

// Load returns the value at key, or an error wrapping fs.ErrNotExist when
// there is none (also for a directory, which has no value).
func (s *redisStorage) Load(ctx context.Context, key string) ([]byte, error) {
	key = cleanKey(key)
	ctx, cancel := s.call(ctx)
	defer cancel()
	value, err := s.rdb.HGet(ctx, s.keys.data, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notExist(key)
	}
	if err != nil {
		return nil, s.failed("load", key, err)
	}
	return value, nil
}

// Delete deletes key and, when it is a directory, every key below it. A
// missing key is not an error.
func (s *redisStorage) Delete(ctx context.Context, key string) error {
	key = cleanKey(key)
	ctx, cancel := s.call(ctx)
	defer cancel()
	if err := deleteScript.Run(ctx, s.rdb, s.keys.fileKeys(), key).Err(); err != nil {
		return s.failed("delete", key, err)
	}
	return nil
}

// Exists reports whether key is a file or a directory (false also when
// Redis cannot be asked).
func (s *redisStorage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// Stat describes key: a file with its size and modification time (Redis's
// clock at the Store), or a directory (IsTerminal false).
func (s *redisStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	key = cleanKey(key)
	ctx, cancel := s.call(ctx)
	defer cancel()
	res, err := statScript.Run(ctx, s.rdb, s.keys.fileKeys(), key).Slice()
	if errors.Is(err, redis.Nil) {
		return certmagic.KeyInfo{}, notExist(key)
	}
	if err != nil {
		return certmagic.KeyInfo{}, s.failed("stat", key, err)
	}
	info := certmagic.KeyInfo{Key: key}
	if len(res) == 3 {
		info.IsTerminal = true
		info.Size, _ = res[1].(int64)
		if us, err := strconv.ParseInt(fmt.Sprint(res[2]), 10, 64); err == nil {
			info.Modified = time.UnixMicro(us)
		}
	}
	return info, nil
}

// List returns the keys in dir: its files and subdirectories, and with
// recursive everything below them too (directories included, as a walk of
// a file system finds them), sorted. A missing dir is fs.ErrNotExist; a
// file lists nothing.
func (s *redisStorage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	dir = cleanKey(dir)
	ctx, cancel := s.call(ctx)
	defer cancel()
	lo, hi := childRange(dir)
	files, err := s.rdb.ZRangeByLex(ctx, s.keys.index, &redis.ZRangeBy{Min: lo, Max: hi}).Result()
	if err != nil {
		return nil, s.failed("list", dir, err)
	}
	if len(files) == 0 {
		if dir == "" {
			return nil, nil
		}
		// A file lists nothing; anything else does not exist.
		err := s.rdb.ZScore(ctx, s.keys.index, dir).Err()
		if errors.Is(err, redis.Nil) {
			return nil, notExist(dir)
		}
		if err != nil {
			return nil, s.failed("list", dir, err)
		}
		return nil, nil
	}
	return listed(dir, files, recursive), nil
}

// listed turns the files below dir into List's answer.
func listed(dir string, files []string, recursive bool) []string {
	seen := make(map[string]struct{}, len(files))
	for _, f := range files {
		rel := f
		if dir != "" {
			rel = f[len(dir)+1:]
		}
		parts := strings.Split(rel, "/")
		if !recursive {
			parts = parts[:1]
		}
		for i := range parts {
			seen[path.Join(dir, strings.Join(parts[:i+1], "/"))] = struct{}{}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
