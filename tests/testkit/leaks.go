package testkit

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Goroutines is a snapshot of the goroutines running now, for NoLeaks.
type Goroutines struct{ ignore goleak.Option }

// SnapshotGoroutines records the goroutines running now; call it before the
// code under test starts any.
func SnapshotGoroutines() Goroutines { return Goroutines{ignore: goleak.IgnoreCurrent()} }

// NoLeaks fails t unless every goroutine started since the snapshot has
// ended within 10 s (goleak's own retries stop after about half a second;
// some goroutines Caddy and certmagic start end only after a few seconds).
// The failure lists the stacks of the goroutines left.
func (g Goroutines) NoLeaks(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	opts = append(opts, g.ignore)
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err = goleak.Find(opts...); err == nil {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("goroutines left running: %v", err)
}
