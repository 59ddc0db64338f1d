// Package pool keeps the simulators served by Caddy handler modules across
// config reloads: a reload that leaves a simulator's configuration (and
// resolved key) unchanged keeps its state, the pods and jobs created so far,
// the way Caddy's reverse proxy keeps its upstream hosts in a UsagePool.
package pool

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// simulators holds the running simulators by key.
var simulators = caddy.NewUsagePool()

// pooled adapts a simulator to caddy.Destructor; simulators own no
// goroutines or files, so there is nothing to release.
type pooled struct{ http.Handler }

func (pooled) Destruct() error { return nil }

// Acquire returns the simulator of kind with config, creating it with newSim
// when no loaded config holds one, and the key to Release it with. secrets
// are the resolved keys the simulator checks: they are part of the key (as
// a hash) so that changing a key's value gives a new simulator.
func Acquire(kind string, config any, secrets []string, newSim func() http.Handler) (http.Handler, string, error) {
	raw, err := json.Marshal(config)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v", kind, err)
	}
	sum := sha256.Sum256([]byte(strings.Join(secrets, "\x00")))
	key := kind + ":" + string(raw) + ":" + hex.EncodeToString(sum[:])
	v, _, err := simulators.LoadOrNew(key, func() (caddy.Destructor, error) { return pooled{newSim()}, nil })
	if err != nil {
		return nil, "", err
	}
	return v.(pooled).Handler, key, nil
}

// Release lets go of a simulator acquired with key; the last config to let
// go drops it.
func Release(key string) {
	if key != "" {
		_, _ = simulators.Delete(key)
	}
}
