package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

// TestLeasesHealAfterAPauseAndARestart: four leases (cap 4) are released
// while Redis is paused for 1.5 s, and a fifth decision times out in the
// pause. Release never waits for Redis; once Redis answers again, every
// slot is free within a second and the timed-out decision charged
// nothing. The same after a crash and a restart from the AOF.
func TestLeasesHealAfterAPauseAndARestart(t *testing.T) {
	t.Parallel()
	opts := testkit.RedisOptions{AppendOnly: true}
	r := testkit.StartRedis(t, opts)
	s := open(t, r.URL(0), Options{Timeout: 100 * time.Millisecond})
	raw := rawClient(t, r.URL(0))
	q := &store.Quota{Limit: 1000, Period: store.Day}
	req := store.Request{KeyID: "k", Plan: "p", Concurrency: 4, Quota: q, Cost: 1, Now: time.Now()}
	for _, fault := range []string{"pause", "restart"} {
		var leases []store.Lease
		for range 4 {
			d, err := s.Decide(context.Background(), req)
			if err != nil || d.Outcome != store.Admitted {
				t.Fatalf("%s: %v %v", fault, d.Outcome, err)
			}
			leases = append(leases, d.Lease)
		}
		used := usedNow(t, s, raw)
		switch fault {
		case "pause":
			r.Pause()
		default:
			r.Stop()
		}
		for _, l := range leases {
			start := time.Now()
			if err := s.Release(context.Background(), l); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 20*time.Millisecond {
				t.Fatalf("%s: Release waited %s for Redis", fault, took)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		if _, err := s.Decide(ctx, req); err == nil {
			t.Fatalf("%s: a decision with Redis gone must fail", fault)
		}
		cancel()
		time.Sleep(1500 * time.Millisecond) // the outage
		switch fault {
		case "pause":
			r.Resume()
		default:
			r.Restart(opts)
		}
		back := time.Now()
		waitLeases(t, s, "k", "p", 0, time.Second)
		for usedNow(t, s, raw) != used {
			if time.Since(back) > time.Second {
				t.Fatalf("%s: quota used %d a second after recovery, want %d (the timed-out decision was not undone)", fault, usedNow(t, s, raw), used)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s: every slot free %s after Redis answered again", fault, time.Since(back).Round(time.Millisecond))
	}
}
