package usageplan

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIPlansListImportAndMetrics: plans and keys list through the CLI,
// an API Gateway CSV import, and the Prometheus metrics on the admin
// endpoint (by plan and outcome, never by key).
func TestCLIPlansListImportAndMetrics(t *testing.T) {
	u := startUpstream(t)
	g := startGateway(t, u, t.TempDir())

	var plans []struct {
		Name string `json:"name"`
	}
	cli(t, g, &plans, "plans")
	if len(plans) != 2 || plans[0].Name != "basic" || plans[1].Name != "pro" {
		t.Fatalf("plans: %+v", plans)
	}

	csv := filepath.Join(t.TempDir(), "keys.csv")
	const imported = "imported-key-0123456789abcdefgh"
	content := "Name,Key,Description,Enabled,UsagePlanIds\nlegacy-client," + imported + ",from API Gateway,true,a1b2c3\n"
	if err := os.WriteFile(csv, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Imported []struct {
			ID string `json:"id"`
		} `json:"imported"`
	}
	out := cli(t, g, &res, "import", csv, "--plan", "basic")
	if len(res.Imported) != 1 || strings.Contains(out, imported) {
		t.Fatalf("import: %s", out)
	}
	if code, _, _ := call(t, g, http.MethodGet, "/api/jobs/1", imported); code != http.StatusOK {
		t.Fatalf("imported key: %d", code)
	}
	call(t, g, http.MethodGet, "/api/jobs/1", "gpg_wrong")

	var keys []struct {
		ID     string `json:"id"`
		Source string `json:"source"`
	}
	out = cli(t, g, &keys, "keys", "list")
	if len(keys) != 2 || keys[0].ID != "static-partner" || keys[1].ID != res.Imported[0].ID || strings.Contains(out, imported) || strings.Contains(out, partnerKey) {
		t.Fatalf("keys list: %s", out)
	}

	resp, err := http.Get("http://" + g.AdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(body)
	for _, want := range []string{
		`gpugate_usage_plan_decisions_total{outcome="admitted",plan="basic"} 1`,
		`gpugate_usage_plan_decisions_total{outcome="forbidden",plan="none"} 1`,
		`gpugate_usage_plan_store_duration_seconds_count{store="file"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, res.Imported[0].ID) || strings.Contains(metrics, imported) {
		t.Error("a key or key id appears in the metrics")
	}

	// Errors reach the CLI user with the admin API's message.
	text, err := g.Command("usage-plans", "keys", "create", "--name", "x", "--plan", "gold", "--address", g.AdminAddr)
	if err == nil || !strings.Contains(text, `unknown plan \"gold\"`) {
		t.Fatalf("create in an unknown plan: %v %s", err, text)
	}
}
