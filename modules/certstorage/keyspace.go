package certstorage

import (
	"path"
	"strings"
)

// DefaultPrefix names the storage's Redis keys unless the config says
// otherwise.
const DefaultPrefix = "gpugate:certs"

// keyspace names the Redis keys of one storage. All of them share the hash
// tag {<prefix>}, so they live in one Redis Cluster slot and the scripts
// may touch several of them atomically.
//
//	{prefix}:data   hash   storage key -> value
//	{prefix}:mtime  hash   storage key -> modification time (Redis clock, µs since the epoch)
//	{prefix}:index  zset   every storage key, score 0 (lexicographic ranges list a directory)
//	{prefix}:lock:<name>   string  the lock holder's random token, with the lock's expiry
type keyspace struct {
	data, mtime, index, lockPrefix string
}

func newKeyspace(prefix string) keyspace {
	tag := "{" + prefix + "}"
	return keyspace{
		data:       tag + ":data",
		mtime:      tag + ":mtime",
		index:      tag + ":index",
		lockPrefix: tag + ":lock:",
	}
}

// fileKeys are the keys every file script is given, in this order.
func (k keyspace) fileKeys() []string { return []string{k.data, k.mtime, k.index} }

// lock is the Redis key of the named lock.
func (k keyspace) lock(name string) string { return k.lockPrefix + name }

// cleanKey turns a storage key into its canonical form, the way
// FileStorage's filepath.Join does: no leading, trailing or doubled
// slashes, no "." or ".." components. The root is "".
func cleanKey(key string) string {
	return strings.TrimPrefix(path.Clean("/"+key), "/")
}

// ancestors lists the directories above key, nearest last: a/b/c -> a, a/b.
func ancestors(key string) []string {
	var out []string
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			out = append(out, key[:i])
		}
	}
	return out
}

// childRange is the ZRANGEBYLEX range of every key below dir ("" is the
// root: every key). '0' is the byte after '/', so [dir/ (dir0 holds
// exactly the keys that start with "dir/".
func childRange(dir string) (lo, hi string) {
	if dir == "" {
		return "-", "+"
	}
	return "[" + dir + "/", "(" + dir + "0"
}
