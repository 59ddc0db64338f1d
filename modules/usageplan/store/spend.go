package store

import (
	"context"
	"time"
)

// Micro is the scale of metered units in the store: counters hold
// millionths of a unit (a GPU-second, a US dollar), so that prices and
// fractions of a second add up exactly in integers (and in a Lua double,
// exact up to 9 * 10^9 units).
const Micro = 1_000_000

// Budget is a limit on a meter's units per calendar window, checked when a
// request is admitted (its cost is known only after the response). The
// window maths are the quota's: Quota.Limit is in micro-units.
type Budget struct {
	// Meter names the meter whose units the budget limits.
	Meter string
	// Quota is the limit per window, in micro-units.
	Quota Quota
}

// BudgetState is a budget's room at decision time.
type BudgetState struct {
	// Remaining is the room left in the window (micro-units, may be
	// negative after the overshoot of a call in flight); Reset the time
	// until the window ends.
	Remaining int64
	Reset     time.Duration
}

// MeterCounter names the counters of a meter inside a plan. Meter counters
// are kept like a plan's quota counters under this name ('#' is in no plan
// or meter name), so Usage and the windows work alike for both.
func MeterCounter(plan, meter string) string { return plan + "#" + meter }

// MeterUnits is what one response costs on one meter.
type MeterUnits struct {
	// Meter names the meter; Units are micro-units (at least 0).
	Meter string
	Units int64
	// Window is the meter's budget (its Limit in micro-units), or a daily
	// window with Limit -1 when the meter has no budget: the window the
	// units are counted in.
	Window Quota
}

// MeterCharge charges the metered units of one response to a key under a
// plan, after the response.
type MeterCharge struct {
	// KeyID and Plan identify the counters.
	KeyID, Plan string
	// Once, when not empty, charges the units only the first time a charge
	// with this id reaches the store for this key and plan (a job's GPU
	// time however often its status is polled); the mark lives OnceTTL.
	Once    string
	OnceTTL time.Duration
	// Units are the meters' units.
	Units []MeterUnits
	// Now is the charge time (injected clock).
	Now time.Time
}

// DefaultOnceTTL is how long a charge's once-mark is kept when
// MeterCharge.OnceTTL is zero: longer than RunPod keeps a job's result.
const DefaultOnceTTL = 7 * 24 * time.Hour

// Meters charges metered units.
type Meters interface {
	// ChargeMeters charges c's units (past any budget: a call in flight may
	// overshoot it) and reports whether it charged (false when c.Once was
	// charged before).
	ChargeMeters(ctx context.Context, c MeterCharge) (bool, error)
}

// Records is a small shared record store for other modules' state (a job's
// owner, say): put if absent, get and delete, with an expiry.
type Records interface {
	// PutRecord stores value under name unless a live record exists, and
	// returns the record's value (the existing one when not created).
	// ttl 0 keeps it until deleted.
	PutRecord(ctx context.Context, name, value string, ttl time.Duration) (stored string, created bool, err error)
	// GetRecord returns a live record; ErrNotFound when absent or expired.
	GetRecord(ctx context.Context, name string) (string, error)
	// DeleteRecord removes a record (no error when absent).
	DeleteRecord(ctx context.Context, name string) error
}

// KeyActivity records when keys were last admitted.
type KeyActivity interface {
	// LastUsed returns the last admission time of each key id that was
	// ever admitted (Decide records it).
	LastUsed(ctx context.Context, ids []string) (map[string]time.Time, error)
}

// PodEntry is one pod an owner holds, as the pod caps count it.
type PodEntry struct {
	// ID is the pod's id (a pending id while its creation is under way).
	ID string `json:"id"`
	// GPUs and CostMicros (USD per hour, in micro-dollars) count while the
	// pod runs (or is being created or started).
	GPUs       int64 `json:"gpus"`
	CostMicros int64 `json:"cost"`
	// GPUType is the pod's GPU type id, for a meter's price table when the
	// pod is charged from this entry (terminated elsewhere).
	GPUType string `json:"gpu_type,omitempty"`
	// Running is false for a stopped pod (it still counts as a pod).
	Running bool `json:"running"`
	// Since is when the pod was last seen starting to run (for metering).
	Since time.Time `json:"since,omitzero"`
	// Pending marks a reservation for a pod being created; it is dropped
	// after PendingTTL if never confirmed.
	Pending bool `json:"pending,omitempty"`
}

// PendingTTL is how long a pending pod reservation counts without being
// confirmed (a gateway that died in the middle of a create).
const PendingTTL = 5 * time.Minute

// PodCaps limit what one owner holds at once; 0 is no limit.
type PodCaps struct {
	// Pods counts every pod not terminated; GPUs and CostMicros (USD per
	// hour, micro-dollars) the running ones.
	Pods, GPUs, CostMicros int64
}

// The caps PodCaps names, as ReservePod reports them.
const (
	CapPods       = "max_pods"
	CapGPUs       = "max_gpus"
	CapUSDPerHour = "max_usd_per_hour"
)

// Pods keeps each owner's pods for the pod caps, shared by every instance.
type Pods interface {
	// ReservePod puts e among owner's pods (replacing an entry with its id)
	// unless the result passes a cap; it returns the cap passed
	// (CapPods, ...) and changes nothing then.
	ReservePod(ctx context.Context, owner string, e PodEntry, caps PodCaps, now time.Time) (string, error)
	// PutPod puts e among owner's pods without a cap check, removing the
	// entry drop (a pending id) if not empty.
	PutPod(ctx context.Context, owner string, e PodEntry, drop string) error
	// RemovePod removes a pod (no error when absent).
	RemovePod(ctx context.Context, owner, id string) error
	// OwnerPods lists owner's pods (pending reservations past PendingTTL
	// left out).
	OwnerPods(ctx context.Context, owner string, now time.Time) ([]PodEntry, error)
}

// livePodTotals adds up entries as the caps count them, leaving out
// expired pending entries and the entry with id skip.
func livePodTotals(entries []PodEntry, skip string, now time.Time) (pods, gpus, cost int64) {
	for _, e := range entries {
		if e.ID == skip || (e.Pending && now.Sub(e.Since) > PendingTTL) {
			continue
		}
		pods++
		if e.Running || e.Pending {
			gpus += e.GPUs
			cost += e.CostMicros
		}
	}
	return pods, gpus, cost
}

// CheckPodCaps returns the cap that entries plus e would pass ("" when
// none): the rule every store applies inside its atomic step.
func CheckPodCaps(entries []PodEntry, e PodEntry, caps PodCaps, now time.Time) string {
	pods, gpus, cost := livePodTotals(entries, e.ID, now)
	pods++
	if e.Running || e.Pending {
		gpus += e.GPUs
		cost += e.CostMicros
	}
	switch {
	case caps.Pods > 0 && pods > caps.Pods:
		return CapPods
	case caps.GPUs > 0 && gpus > caps.GPUs:
		return CapGPUs
	case caps.CostMicros > 0 && cost > caps.CostMicros:
		return CapUSDPerHour
	}
	return ""
}

// LivePods drops expired pending entries.
func LivePods(entries []PodEntry, now time.Time) []PodEntry {
	out := entries[:0:0]
	for _, e := range entries {
		if !e.Pending || now.Sub(e.Since) <= PendingTTL {
			out = append(out, e)
		}
	}
	return out
}

// WithoutPod returns entries less the one with id (a new slice).
func WithoutPod(entries []PodEntry, id string) []PodEntry {
	out := make([]PodEntry, 0, len(entries))
	for _, e := range entries {
		if e.ID != id {
			out = append(out, e)
		}
	}
	return out
}

// WithPod returns entries with e in place of any entry of its id and
// without the entry drop (a pod replaced by e; "" for none): the edit
// every store applies inside its atomic step.
func WithPod(entries []PodEntry, e PodEntry, drop string) []PodEntry {
	if drop != "" {
		entries = WithoutPod(entries, drop)
	}
	return append(WithoutPod(entries, e.ID), e)
}
