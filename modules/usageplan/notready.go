package usageplan

import (
	"context"
	"errors"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// errStoreNotReady is every store call's answer between Provision and
// Start (the store opens in Start).
var errStoreNotReady = errors.New("usage plans store: not open yet (the configuration is starting)")

// notReady is the store before Start.
type notReady struct{}

var _ store.Store = notReady{}

func (notReady) Decide(context.Context, store.Request) (store.Decision, error) {
	return store.Decision{}, errStoreNotReady
}
func (notReady) Release(context.Context, store.Lease) error { return errStoreNotReady }
func (notReady) Refund(context.Context, store.Charge) error { return errStoreNotReady }
func (notReady) Usage(context.Context, string, string, time.Time, time.Time) ([]store.DayUsage, error) {
	return nil, errStoreNotReady
}
func (notReady) ChangeQuota(context.Context, store.QuotaChange) (int64, error) {
	return 0, errStoreNotReady
}
func (notReady) CreateKey(context.Context, store.Key) error { return errStoreNotReady }
func (notReady) UpdateKey(context.Context, string, func(*store.Key)) (store.Key, error) {
	return store.Key{}, errStoreNotReady
}
func (notReady) DeleteKey(context.Context, string) error { return errStoreNotReady }
func (notReady) KeyByHash(context.Context, string) (store.Key, error) {
	return store.Key{}, errStoreNotReady
}
func (notReady) KeyByID(context.Context, string) (store.Key, error) {
	return store.Key{}, errStoreNotReady
}
func (notReady) ListKeys(context.Context) ([]store.Key, error) { return nil, errStoreNotReady }
func (notReady) Close() error                                  { return nil }
