package runpod

import (
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// TestCaddyfileAdaptGolden adapts every testdata Caddyfile and compares the
// JSON with the golden file beside it (GPUGATE_UPDATE_GOLDEN=1 rewrites them).
func TestCaddyfileAdaptGolden(t *testing.T) { adapttest.Golden(t, "testdata") }

func TestCaddyfileErrors(t *testing.T) {
	cases := []struct{ block, want string }{
		{"runpod", "missing mode; write `runpod pods`"},
		{"runpod pods extra", `unexpected argument "extra"`},
		{"runpod magic {\napi_key {env.K}\n}", `unknown mode "magic"; write pods, api or serverless`},
		{"runpod pods", "api_key is required; write e.g. `api_key {env.RUNPOD_API_KEY}`"},
		{"runpod pods {\napi_key rpa_live_secret\n}", "runpod api_key: write the secret as a placeholder"},
		{"runpod pods {\napi_key {env.A}rpa_live_secret{env.B}\n}", "runpod api_key: write the secret as a placeholder"},
		{"runpod pods {\napi_key {http.request.header.X-Key}\n}", "runpod api_key: write the secret as a placeholder"},
		{"runpod api {\napi_key {env.K}\nbase_url https://api.runpod.io/v2/../graphql\n}", "must not contain dot segments"},
		{"runpod pods {\napi_key {env.K}\nbase_url ftp://x\n}", `base_url "ftp://x" must be an absolute http(s) URL`},
		{"runpod pods {\napi_key {env.K}\ntimeout soon\n}", "timeout \"soon\" is not a positive duration; write e.g. `timeout 30s`"},
		{"runpod pods {\napi_key {env.K}\nretries 3\n}", `unknown subdirective "retries"`},
		{"runpod serverless {\napi_key {env.K}\n}", "no endpoints; write `endpoint <alias> <endpoint-id>`"},
		{"runpod serverless {\napi_key {env.K}\nendpoint a\n}", "write `endpoint <alias> <endpoint-id>`"},
		{"runpod serverless {\napi_key {env.K}\nendpoint a x\nendpoint a y\n}", `alias "a" is defined twice`},
		{"runpod api {\napi_key {env.K}\nendpoint a b\n}", "endpoint is only for mode serverless"},
		{"runpod api {\napi_key {env.K}\nallow_images x/*\n}", "apply to mode pods only"},
		{"runpod pods {\napi_key {env.K}\nallow_images [\n}", "not a valid glob"},
		{"runpod pods {\napi_key {env.K}\nowner_claim sub\n}", "owner_claim and owner_tag go together"},
		{"runpod pods {\napi_key {env.K}\nowner_claim sub\nowner_tag label\n}", "write `owner_tag env` or `owner_tag name`"},
		{"runpod serverless {\napi_key {env.K}\nendpoint a b\nmax_body huge\n}", "runpod max_body \"huge\" is not a size; write e.g. `max_body 20MB`"},
		{"runpod pods {\napi_key {env.K}\nmax_body 1MB\n}", "max_body is for modes api and serverless"},
		{"runpod pods {\napi_key {env.K}\nmax_pods 2\n}", "max_pods, max_gpus and max_usd_per_hour are per owner; add `owner_claim sub`"},
		{"runpod pods {\napi_key {env.K}\nowner_claim sub\nowner_tag env\nmax_usd_per_hour lots\n}", `max_usd_per_hour "lots"`},
		{"runpod pods {\napi_key {env.K}\nowner_claim sub\nowner_tag env\nmax_gpus 0\n}", "max_gpus"},
		{"runpod serverless {\napi_key {env.K}\nendpoint a b\nmax_pods 2\n}", "apply to mode pods only"},
		{"runpod serverless {\napi_key {env.K}\nendpoint a b\nadmin_scope runpod:admin\n}", "admin_scope goes with `runpod serverless` and owner_claim"},
		{"runpod api {\napi_key {env.K}\nowner_claim sub\n}", "owner_claim applies to modes pods and serverless"},
		{"runpod pods {\napi_key {env.K}\ndefault gpu_count two\n}", `default gpu_count "two" must be a positive integer`},
		{"runpod pods {\napi_key {env.K}\ndefault region eu\n}", "the fields with defaults are image, gpu_type, gpu_count, cloud and disk"},
		{"runpod pods {\napi_key {env.K}\ndefault cloud cheap\n}", "default cloud must be SECURE or COMMUNITY"},
	}
	for _, c := range cases {
		_, err := adapttest.Adapt(":8080 {\n" + c.block + "\n}\n")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.block, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "rpa_live_secret") {
			t.Errorf("error message echoes the key: %v", err)
		}
	}
}
