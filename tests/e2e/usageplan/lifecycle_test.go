package usageplan

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestRotationAcrossInstances rotates a key through the CLI on one of two
// cluster.Caddyfile instances: both values work on both instances during
// the grace period, only the new one after it; id and plans stay. Then an
// imported value (--value - from stdin), an expiry and a change of plans.
func TestRotationAcrossInstances(t *testing.T) {
	u := startUpstream(t)
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	a, b := startCluster(t, u, r)

	var created struct{ ID, Value string }
	cli(t, a, &created, "keys", "create", "--name", "rotating", "--plan", "basic")
	var rotated struct {
		ID, Value, PreviousValidUntil string
		Plans                         []string
	}
	cli(t, b, &rotated, "keys", "rotate", created.ID, "--grace", "3s")
	if rotated.ID != created.ID || rotated.Value == "" || rotated.Value == created.Value || len(rotated.Plans) != 1 {
		t.Fatalf("rotate: %+v", rotated)
	}
	for _, g := range []*testkit.Gateway{a, b} {
		for _, v := range []string{created.Value, rotated.Value} {
			if code, _, body := call(t, g, http.MethodGet, "/api/jobs/1", v); code != http.StatusOK {
				t.Fatalf("during the grace period: %d %s", code, body)
			}
		}
	}
	// The grace period ends (polled, bounded): the old value is refused on
	// both instances, the new one still works.
	testkit.Eventually(t, 10*time.Second, "the old value to be refused", func() bool {
		ca, _, _ := call(t, a, http.MethodGet, "/api/jobs/1", created.Value)
		cb, _, _ := call(t, b, http.MethodGet, "/api/jobs/1", created.Value)
		return ca == http.StatusForbidden && cb == http.StatusForbidden
	})
	if code, _, _ := call(t, b, http.MethodGet, "/api/jobs/1", rotated.Value); code != http.StatusOK {
		t.Fatalf("the new value after the grace period: %d", code)
	}
	if logs := a.Logs() + b.Logs(); !strings.Contains(logs, "old value was refused") || strings.Contains(logs, created.Value) {
		t.Fatal("the refusal is not logged with a reason, or the value is")
	}

	// An imported value from stdin, expiring, moved to another plan.
	const known = "known-value-from-elsewhere-0123456789"
	text, err := a.CommandInput(known+"\n", "usage-plans", "keys", "create", "--name", "imported", "--plan", "basic",
		"--value", "-", "--expires", "30d", "--address", a.AdminAddr)
	if err != nil || strings.Contains(text, known) || !strings.Contains(text, `"expires"`) {
		t.Fatalf("create --value -: %v %s", err, text)
	}
	if code, _, _ := call(t, b, http.MethodGet, "/api/jobs/1", known); code != http.StatusOK {
		t.Fatalf("the imported value: %d", code)
	}
}
