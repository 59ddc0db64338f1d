package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"github.com/gpugate/gpugate/modules/internal/redisconn"
)

// Decisions go through rueidis, the rest of the store through go-redis.
// rueidis pipelines the commands of concurrent callers on a shared
// connection by itself, which takes half of go-redis's client CPU per
// decision and less of Redis's (measured side by side:
// BenchmarkDecideRedis, decisions=go-redis against decisions=rueidis).
// The store keeps go-redis for the rest (key records, releases and
// renewals, the admin API), so only the hot path has a second client.

// fastDecider is the rueidis client of the decisions and its script.
type fastDecider struct {
	client rueidis.Client
	script *rueidis.Lua
}

// connectRetry is how often the store tries again to create the rueidis
// client of a Redis Cluster, or of the sentinels, it could not reach at
// start (decisions go through go-redis meanwhile).
const connectRetry = time.Second

// startFastDecider creates the rueidis client of cfg, or, when the
// deployment is unreachable, keeps trying in the background until the
// store closes. It is a no-op when opts ask for go-redis decisions.
func (s *Store) startFastDecider(cfg redisconn.Config, callTimeout time.Duration, opts Options) error {
	if opts.goRedisDecisions {
		return nil
	}
	o, err := cfg.RueidisOption()
	if err != nil {
		return err
	}
	o.Dialer.Timeout = callTimeout
	o.Sentinel.Dialer.Timeout = callTimeout
	o.ConnWriteTimeout = callTimeout
	// One connection (per node) carries all the decisions, pipelined: the
	// first call after Redis restarted finds it broken and the next one
	// a new connection (Decide tries once more), where with several
	// connections each would fail once.
	o.PipelineMultiplex = -1
	script := rueidis.NewLuaScript(withClockSource(decideSource))
	if c, _ := rueidis.NewClient(o); c != nil {
		// A single-node client exists even while the server is down (the
		// error then says so); it connects on its first command. Open has
		// checked the configuration through go-redis.
		s.fast.Store(&fastDecider{client: c, script: script})
		return nil
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(connectRetry)
		defer t.Stop()
		for attempt := 0; ; attempt++ {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			c, err := rueidis.NewClient(o)
			if c != nil {
				s.fast.Store(&fastDecider{client: c, script: script})
				return
			}
			if attempt%connectReport == 0 && s.onError != nil {
				s.onError(fmt.Errorf("usage plans store: decisions go through go-redis until the %s client can be created (retrying every %s): %w", clientName(cfg.Mode), connectRetry, err))
			}
		}
	}()
	return nil
}

// clientName names the rueidis client of a deployment mode.
func clientName(m redisconn.Mode) string {
	if m == redisconn.Sentinel {
		return "Redis Sentinel"
	}
	return "Redis Cluster"
}

// connectReport is how many failed attempts at the Cluster or Sentinel
// client give one error line (the first, then one a minute).
const connectReport = 60

// runDecideScript runs decide.lua with keys and args through rueidis, or
// through go-redis while there is no rueidis client.
func (s *Store) runDecideScript(ctx context.Context, keys, args []string) ([]int64, error) {
	if f := s.fast.Load(); f != nil {
		return f.script.Exec(ctx, f.client, keys, args).AsIntSlice()
	}
	a := make([]any, len(args))
	for i, v := range args {
		a[i] = v
	}
	return s.decide.Run(ctx, s.rdb, keys, a...).Int64Slice()
}

// closeFastDecider closes the rueidis client, if any (after the
// background work stopped).
func (s *Store) closeFastDecider() {
	if f := s.fast.Load(); f != nil {
		f.client.Close()
	}
}
