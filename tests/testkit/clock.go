package testkit

import (
	"sync/atomic"
	"testing"
	"time"
)

// Clock is a settable clock for modules that take an injected now func:
// tests move time instead of sleeping. It is safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now returns the clock's time (pass c.Now where a module takes a now func).
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Eventually polls cond every 10 ms until it holds, and fails t when it
// does not within the given time: for conditions a test cannot wait on
// directly (a background refresh, an asynchronous job), instead of a fixed
// sleep.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
