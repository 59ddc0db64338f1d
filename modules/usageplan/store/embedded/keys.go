package embedded

import (
	"context"
	"sync"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// keyTable is the in-memory index of runtime-created keys.
type keyTable struct {
	mu     sync.RWMutex
	byID   map[string]store.Key
	byHash map[string]string // hash -> id
}

func newKeyTable() *keyTable {
	return &keyTable{byID: map[string]store.Key{}, byHash: map[string]string{}}
}

func (t *keyTable) put(k store.Key) {
	if old, ok := t.byID[k.ID]; ok {
		delete(t.byHash, old.Hash)
		if old.PreviousHash != "" {
			delete(t.byHash, old.PreviousHash)
		}
	}
	t.byID[k.ID] = k
	t.byHash[k.Hash] = k.ID
	if k.PreviousHash != "" {
		t.byHash[k.PreviousHash] = k.ID
	}
}

// rotate gives key id the value newHash, keeping the old one as the
// previous value until graceUntil.
func (t *keyTable) rotate(id, newHash string, graceUntil, now time.Time, persist func(store.Key) error) (store.Key, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.byID[id]
	if !ok {
		return store.Key{}, store.ErrNotFound
	}
	if other, taken := t.byHash[newHash]; taken && other != id || newHash == k.Hash {
		return store.Key{}, store.ErrExists
	}
	k.Plans = append([]string(nil), k.Plans...)
	k.PreviousHash, k.PreviousUntil, k.Hash, k.Rotated = k.Hash, graceUntil, newHash, now.UTC()
	if err := persist(k); err != nil {
		return store.Key{}, err
	}
	t.put(k)
	return k, nil
}

// create adds k unless its id or hash is taken; persist runs under the lock
// so the file and the table agree.
func (t *keyTable) create(k store.Key, persist func(store.Key) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.byID[k.ID]; ok {
		return store.ErrExists
	}
	if _, ok := t.byHash[k.Hash]; ok {
		return store.ErrExists
	}
	if err := persist(k); err != nil {
		return err
	}
	t.put(k)
	return nil
}

func (t *keyTable) update(id string, change func(*store.Key), persist func(store.Key) error) (store.Key, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.byID[id]
	if !ok {
		return store.Key{}, store.ErrNotFound
	}
	k.Plans = append([]string(nil), k.Plans...)
	change(&k)
	k.ID = id
	if err := persist(k); err != nil {
		return store.Key{}, err
	}
	t.put(k)
	return k, nil
}

func (t *keyTable) remove(id string, persist func(string) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.byID[id]
	if !ok {
		return store.ErrNotFound
	}
	if err := persist(id); err != nil {
		return err
	}
	delete(t.byID, id)
	delete(t.byHash, k.Hash)
	if k.PreviousHash != "" {
		delete(t.byHash, k.PreviousHash)
	}
	return nil
}

// KeyByHash implements store.Keys.
func (t *keyTable) KeyByHash(_ context.Context, hash string) (store.Key, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	id, ok := t.byHash[hash]
	if !ok {
		return store.Key{}, store.ErrNotFound
	}
	return t.byID[id], nil
}

// KeyByID implements store.Keys.
func (t *keyTable) KeyByID(_ context.Context, id string) (store.Key, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	k, ok := t.byID[id]
	if !ok {
		return store.Key{}, store.ErrNotFound
	}
	return k, nil
}

// ListKeys implements store.Keys.
func (t *keyTable) ListKeys(context.Context) ([]store.Key, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]store.Key, 0, len(t.byID))
	for _, k := range t.byID {
		out = append(out, k)
	}
	store.SortKeys(out)
	return out, nil
}
