package modal_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
)

// TestWallTimeMeteredAndBudgeted runs modal.Caddyfile's metered plan: a
// long call (Modal's 303s followed by the gateway) is charged its wall
// time, shown by get-usage and in the access log, and the daily budget of
// wall seconds then refuses the key with 429 "Limit Exceeded".
func TestWallTimeMeteredAndBudgeted(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{CallLimit: 200 * time.Millisecond}, map[string]string{"MULTITALK_WALL_SECONDS_PER_DAY": "1"})
	res := d.call(t, "POST", "/api/v1/slow?duration=700ms", `{"x":1}`)
	res.Want(t, http.StatusOK, `"slept":"700ms"`)
	if !strings.Contains(res.Header.Get("Ratelimit"), `"budget_wall_seconds";r=1;`) {
		t.Fatalf("RateLimit %q", res.Header.Get("Ratelimit"))
	}
	if len(d.sim.Received("/api/v1/slow")) < 2 {
		t.Fatal("the call was not long enough to be redirected")
	}
	resp, err := http.Get("http://" + d.gw.AdminAddr + "/usage-plans/usage?plan=multitalk&key=static-default-client")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var usage struct {
		Meters map[string]map[string][][2]float64 `json:"meters"`
	}
	if err := json.Unmarshal(b, &usage); err != nil {
		t.Fatalf("usage: %s", b)
	}
	days := usage.Meters["wall_seconds"]["static-default-client"]
	if len(days) == 0 || days[len(days)-1][0] < 0.7 || days[len(days)-1][0] > 5 {
		t.Fatalf("wall seconds today: %v, want at least 0.7 (the whole followed call)", days)
	}
	m := regexp.MustCompile(`"metered_wall_seconds":"([0-9.]+)"`).FindStringSubmatch(d.gw.Logs())
	if logged, _ := strconv.ParseFloat(safe(m, 1), 64); logged != days[len(days)-1][0] {
		t.Fatalf("access log metered_wall_seconds %q, want %v", safe(m, 1), days[len(days)-1][0])
	}
	// 0.3 s of room left: admitted, and overshooting; then the budget is spent.
	d.call(t, "POST", "/api/v1/slow?duration=700ms", `{"x":1}`).Want(t, http.StatusOK)
	res = d.call(t, "POST", "/api/v1/slow?duration=0s", `{"x":1}`)
	res.Want(t, http.StatusTooManyRequests, `{"message":"Limit Exceeded"}`)
	if res.Header.Get("Retry-After") == "" || !strings.HasPrefix(res.Header.Get("Ratelimit"), `"budget_wall_seconds";r=0;`) {
		t.Fatalf("exhausted: Retry-After %q RateLimit %q", res.Header.Get("Retry-After"), res.Header.Get("Ratelimit"))
	}
}

func safe(m []string, i int) string {
	if i < len(m) {
		return m[i]
	}
	return ""
}
