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
func (notReady) RotateKey(context.Context, string, string, time.Time) (store.Key, error) {
	return store.Key{}, errStoreNotReady
}
func (notReady) ChargeMeters(context.Context, store.MeterCharge) (bool, error) {
	return false, errStoreNotReady
}
func (notReady) PutRecord(context.Context, string, string, time.Duration) (string, bool, error) {
	return "", false, errStoreNotReady
}
func (notReady) GetRecord(context.Context, string) (string, error) { return "", errStoreNotReady }
func (notReady) DeleteRecord(context.Context, string) error        { return errStoreNotReady }
func (notReady) LastUsed(context.Context, []string) (map[string]time.Time, error) {
	return nil, errStoreNotReady
}
func (notReady) ReservePod(context.Context, string, store.PodEntry, store.PodCaps, time.Time) (string, error) {
	return "", errStoreNotReady
}
func (notReady) PutPod(context.Context, string, store.PodEntry, string) error {
	return errStoreNotReady
}
func (notReady) RemovePod(context.Context, string, string) error { return errStoreNotReady }
func (notReady) OwnerPods(context.Context, string, time.Time) ([]store.PodEntry, error) {
	return nil, errStoreNotReady
}
