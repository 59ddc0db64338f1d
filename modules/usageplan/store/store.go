// Package store defines the state behind usage plans (API keys, throttle
// buckets, quota counters, concurrency leases) and the limiter maths every
// store implementation shares. Implementations live in sub-packages:
// embedded (memory plus a durable file) and redisstore.
package store

import (
	"context"
	"errors"
	"sort"
	"time"
)

// ErrNotFound is returned when a key does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when a key with the same id or hash already exists.
var ErrExists = errors.New("already exists")

// Outcome is the result of one admission decision.
type Outcome uint8

// The possible outcomes of a decision.
const (
	Admitted Outcome = iota
	Throttled
	QuotaExceeded
	ConcurrencyLimited
	BudgetExhausted
)

// String returns the outcome's metric label.
func (o Outcome) String() string {
	switch o {
	case Admitted:
		return "admitted"
	case Throttled:
		return "throttled"
	case QuotaExceeded:
		return "quota_exceeded"
	case ConcurrencyLimited:
		return "concurrency_limited"
	case BudgetExhausted:
		return "budget_exhausted"
	default:
		return "unknown"
	}
}

// Request asks a store to admit one request for a key under a plan.
type Request struct {
	// KeyID and Plan identify the counters.
	KeyID, Plan string
	// Bucket names the throttle bucket inside the plan ("" for the plan's
	// default throttle, "GET /path" for a method+path override).
	Bucket string
	// Throttle, Quota and Concurrency are the limits; nil or zero means
	// unlimited.
	Throttle    *Throttle
	Quota       *Quota
	Concurrency int64
	// Cost is the number of quota units the request uses (0 allowed).
	Cost int64
	// Budgets are checked (not charged): a request is admitted only while
	// each has room; the meters are charged after the response
	// (Meters.ChargeMeters).
	Budgets []Budget
	// Now is the decision time (injected clock).
	Now time.Time
}

// Decision is a store's answer to a Request.
type Decision struct {
	// Outcome says whether the request was admitted, and if not, why.
	Outcome Outcome
	// RetryAfter is when a rejected request may succeed.
	RetryAfter time.Duration
	// ThrottleRemaining is the number of requests the bucket allows right
	// now; ThrottleReset the time until the bucket is full again.
	ThrottleRemaining int64
	ThrottleReset     time.Duration
	// QuotaRemaining is the quota left in the window; QuotaReset the time
	// until the window ends.
	QuotaRemaining int64
	QuotaReset     time.Duration
	// Charge is what an admitted request was charged (for refunds).
	Charge Charge
	// Lease is the concurrency slot an admitted request holds; it must be
	// released when the response ends. Zero when no concurrency limit.
	Lease Lease
	// Budgets are the room of Request.Budgets, in their order (for an
	// admitted request); Budget is the index of the exhausted one when the
	// outcome is BudgetExhausted.
	Budgets []BudgetState
	Budget  int
}

// Charge records the quota units one admitted request used.
type Charge struct {
	// KeyID and Plan identify the counters.
	KeyID, Plan string
	// Window is the start of the quota window charged; Day the UTC day.
	Window, Day time.Time
	Cost        int64
	// Limit is the quota limit at charge time (for the daily remaining).
	Limit int64
}

// Lease is one held concurrency slot.
type Lease struct {
	// KeyID and Plan name the slot set; ID is this lease's member.
	KeyID, Plan, ID string
}

// DayUsage is the quota use of a key under a plan on one UTC day.
type DayUsage struct {
	// Day is the UTC midnight starting the day; Used the units used.
	Day  time.Time
	Used int64
	// Remaining is the quota left at the end of the day's activity; Known
	// is false for a day with no recorded activity.
	Remaining int64
	Known     bool
}

// QuotaChange adjusts the remaining quota of a key's current window, like
// API Gateway's update-usage.
type QuotaChange struct {
	// KeyID and Plan identify the counters; Quota is the plan's quota and
	// Now picks the current window.
	KeyID, Plan string
	Quota       Quota
	Now         time.Time
	// Reset sets the window's use to zero; otherwise Extend units are
	// given back (the remaining quota grows by Extend).
	Reset  bool
	Extend int64
}

// Limiter decides and undoes admissions.
type Limiter interface {
	// Decide admits or rejects req and charges the counters when admitted.
	Decide(ctx context.Context, req Request) (Decision, error)
	// Release frees a concurrency lease.
	Release(ctx context.Context, lease Lease) error
	// Refund gives a charge's quota units back.
	Refund(ctx context.Context, c Charge) error
	// Usage returns the per-day use of a key under a plan for the UTC days
	// from..to inclusive.
	Usage(ctx context.Context, keyID, plan string, from, to time.Time) ([]DayUsage, error)
	// ChangeQuota resets or extends a key's current quota window and
	// returns the quota now remaining.
	ChangeQuota(ctx context.Context, change QuotaChange) (int64, error)
}

// Keys stores the API keys created at run time.
type Keys interface {
	// CreateKey stores k; ErrExists when its id or hash is taken.
	CreateKey(ctx context.Context, k Key) error
	// UpdateKey applies change to the key with id and stores the result.
	UpdateKey(ctx context.Context, id string, change func(*Key)) (Key, error)
	// DeleteKey removes a key; ErrNotFound when absent.
	DeleteKey(ctx context.Context, id string) error
	// KeyByHash finds a key by the hex SHA-256 of its value.
	KeyByHash(ctx context.Context, hash string) (Key, error)
	// KeyByID finds a key by id.
	KeyByID(ctx context.Context, id string) (Key, error)
	// ListKeys returns every stored key, sorted by creation time.
	ListKeys(ctx context.Context) ([]Key, error)
	// RotateKey gives key id the value of newHash; the old value keeps
	// finding the key (KeyByHash) as Key.PreviousHash until graceUntil, when
	// the caller refuses it (and the store may forget it). ErrExists when
	// newHash belongs to another key.
	RotateKey(ctx context.Context, id, newHash string, graceUntil time.Time) (Key, error)
}

// Store is the state behind usage plans.
type Store interface {
	Limiter
	Keys
	Meters
	Records
	KeyActivity
	Pods
	// Close releases the store's resources (flushes pending counts).
	Close() error
}

// Key is an API key record. The key value itself is never stored, only its
// SHA-256.
type Key struct {
	// ID is public and safe to log.
	ID string `json:"id"`
	// Name and Description are the operator's labels.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Hash is the hex SHA-256 of the key value.
	Hash string `json:"hash"`
	// Enabled keys are admitted; disabled ones get 403.
	Enabled bool `json:"enabled"`
	// Plans the key belongs to.
	Plans []string `json:"plans"`
	// Created is the creation time (UTC).
	Created time.Time `json:"created"`
	// Expires, when set, is when the key stops being accepted.
	Expires time.Time `json:"expires,omitzero"`
	// PreviousHash is the value before the last rotation, accepted until
	// PreviousUntil (the grace period); Rotated is when it was rotated.
	PreviousHash  string    `json:"previous_hash,omitempty"`
	PreviousUntil time.Time `json:"previous_until,omitzero"`
	Rotated       time.Time `json:"rotated,omitzero"`
}

// AcceptsHash reports whether a value with hash opens k at now: its
// current value, or the previous one during the grace period.
func (k Key) AcceptsHash(hash string, now time.Time) bool {
	if hash == k.Hash {
		return true
	}
	return k.PreviousHash != "" && hash == k.PreviousHash && now.Before(k.PreviousUntil)
}

// Expired reports whether k has expired at now.
func (k Key) Expired(now time.Time) bool { return !k.Expires.IsZero() && !now.Before(k.Expires) }

// SortKeys orders keys the way every store lists them: oldest first, then
// by id, so listings are stable across stores and calls.
func SortKeys(keys []Key) {
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].Created.Equal(keys[j].Created) {
			return keys[i].Created.Before(keys[j].Created)
		}
		return keys[i].ID < keys[j].ID
	})
}
