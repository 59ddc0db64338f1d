package usageplan

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestEmbeddedKillLosesAtMost50ms: a gateway on the embedded store serves
// 100 requests a second for 2 s and is killed with SIGKILL mid-load. After
// the restart the day's use is what the clients saw admitted, less at
// most 50 ms of requests (5 at 100/s): the store commits every 40 ms.
func TestEmbeddedKillLosesAtMost50ms(t *testing.T) {
	t.Parallel()
	u := startUpstream(t)
	g := testkit.StartGateway(t, gatewayCaddyfile, testkit.GatewayOptions{Env: env(u, map[string]string{
		"GPUGATE_DATA": t.TempDir(), "GPUGATE_BASIC_RATE": "10000", "GPUGATE_BASIC_BURST": "10000",
		"GPUGATE_BASIC_QUOTA": "100000",
	})})
	key := createKey(t, g, "acme", "basic")
	client := g.Client()
	var mu sync.Mutex
	admitted := 0
	var wg sync.WaitGroup
	tick := time.NewTicker(10 * time.Millisecond)
	killAt := time.Now().Add(2 * time.Second)
	for time.Now().Before(killAt) {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPut, g.URL+"/api/items/1", nil)
			req.Header.Set("X-Api-Key", key.Value)
			resp, err := client.Do(req)
			if err != nil {
				return // in flight at the kill
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		}()
	}
	tick.Stop()
	g.Kill()
	wg.Wait()
	g.Start()
	used := usageToday(t, g, "basic", key.ID)[0]
	lost := int64(admitted) - used
	t.Logf("kill -9 under 100 req/s: %d admitted, %d counted after the restart, %d lost", admitted, used, lost)
	if lost > 5 {
		t.Fatalf("kill -9 lost %d admitted requests (more than 50 ms at 100 req/s)", lost)
	}
}
