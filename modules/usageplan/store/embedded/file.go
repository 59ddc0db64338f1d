package embedded

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Bucket names in the bbolt file.
var (
	keysBucket    = []byte("keys")
	windowsBucket = []byte("quota_windows")
	daysBucket    = []byte("days")
	// The extras (spend.go) and the pod caps.
	onceBucket     = []byte("once")
	recordsBucket  = []byte("records")
	lastUsedBucket = []byte("last_used")
	podsBucket     = []byte("pods")
)

// extraBuckets maps an extra's kind to its bucket.
var extraBuckets = map[byte][]byte{kindOnce: onceBucket, kindRecord: recordsBucket, kindLastUsed: lastUsedBucket}

// file is the durable copy of keys, quota windows and daily use.
type file struct{ db *bolt.DB }

// openFile opens (creating) the bbolt file at path. A second process using
// the same file gets an error after a second instead of waiting forever.
func openFile(path string) (*file, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("usage plans store: creating directory for %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("usage plans store: opening %s (is another gateway using it?): %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{keysBucket, windowsBucket, daysBucket, onceBucket, recordsBucket, lastUsedBucket, podsBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("usage plans store: preparing %s: %w", path, err)
	}
	return &file{db: db}, nil
}

// counterKey joins the parts of a counter's name with NUL separators
// (key ids and plan names never contain NUL).
func counterKey(keyID, plan string, unix int64) []byte {
	return []byte(fmt.Sprintf("%s\x00%s\x00%d", keyID, plan, unix))
}

func parseCounterKey(b []byte) (keyID, plan string, unix int64, ok bool) {
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 {
		return "", "", 0, false
	}
	if _, err := fmt.Sscan(parts[2], &unix); err != nil {
		return "", "", 0, false
	}
	return parts[0], parts[1], unix, true
}

// load reads everything into the in-memory state.
func (f *file) load(c *counters, keys *keyTable, pods *podTable) error {
	return f.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(keysBucket).ForEach(func(_, v []byte) error {
			var k store.Key
			if err := json.Unmarshal(v, &k); err != nil {
				return fmt.Errorf("decoding a stored key: %w", err)
			}
			keys.put(k)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(windowsBucket).ForEach(func(k, v []byte) error {
			id, plan, start, ok := parseCounterKey(k)
			if ok && len(v) == 8 {
				c.setWindow(windowID{id, plan, start}, int64(binary.BigEndian.Uint64(v)))
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(daysBucket).ForEach(func(k, v []byte) error {
			id, plan, day, ok := parseCounterKey(k)
			var rec dayRecord
			if ok && json.Unmarshal(v, &rec) == nil {
				c.setDay(dayID{id, plan, day}, rec)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return loadExtras(tx, c, pods)
	})
}

// loadExtras reads the once-marks, records, last-used times and pods.
func loadExtras(tx *bolt.Tx, c *counters, pods *podTable) error {
	err := tx.Bucket(onceBucket).ForEach(func(k, v []byte) error {
		var exp int64
		if json.Unmarshal(v, &exp) == nil {
			c.once[string(k)] = exp
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(recordsBucket).ForEach(func(k, v []byte) error {
		var r timed
		if json.Unmarshal(v, &r) == nil {
			c.records[string(k)] = r
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(lastUsedBucket).ForEach(func(k, v []byte) error {
		var ns int64
		if json.Unmarshal(v, &ns) == nil {
			c.lastUsed[string(k)] = ns
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.Bucket(podsBucket).ForEach(func(k, v []byte) error {
		var entries []store.PodEntry
		if json.Unmarshal(v, &entries) == nil {
			pods.owners[string(k)] = entries
		}
		return nil
	})
}

// putPods stores an owner's pods (none: deletes the owner).
func (f *file) putPods(owner string, entries []store.PodEntry) error {
	return f.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(podsBucket)
		if len(entries) == 0 {
			return b.Delete([]byte(owner))
		}
		v, err := json.Marshal(entries)
		if err != nil {
			return err
		}
		return b.Put([]byte(owner), v)
	})
}

// writeCounts stores changed counts and drops pruned ones in one
// transaction.
func (f *file) writeCounts(ws map[windowID]int64, ds map[dayID]dayRecord, dropW []windowID, dropD []dayID, xs map[string]extraWrite) error {
	if len(ws)+len(ds)+len(dropW)+len(dropD)+len(xs) == 0 {
		return nil
	}
	return f.db.Update(func(tx *bolt.Tx) error {
		for name, x := range xs {
			b := tx.Bucket(extraBuckets[x.kind])
			var err error
			if x.present {
				err = b.Put([]byte(name), x.value)
			} else {
				err = b.Delete([]byte(name))
			}
			if err != nil {
				return err
			}
		}
		wb, db := tx.Bucket(windowsBucket), tx.Bucket(daysBucket)
		for id, used := range ws {
			v := make([]byte, 8)
			binary.BigEndian.PutUint64(v, uint64(used))
			if err := wb.Put(counterKey(id.keyID, id.plan, id.start), v); err != nil {
				return err
			}
		}
		for id, rec := range ds {
			v, _ := json.Marshal(rec)
			if err := db.Put(counterKey(id.keyID, id.plan, id.day), v); err != nil {
				return err
			}
		}
		for _, id := range dropW {
			if err := wb.Delete(counterKey(id.keyID, id.plan, id.start)); err != nil {
				return err
			}
		}
		for _, id := range dropD {
			if err := db.Delete(counterKey(id.keyID, id.plan, id.day)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *file) putKey(k store.Key) error {
	v, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return f.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(keysBucket).Put([]byte(k.ID), v) })
}

func (f *file) deleteKey(id string) error {
	return f.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(keysBucket).Delete([]byte(id)) })
}

func (f *file) close() error { return f.db.Close() }
