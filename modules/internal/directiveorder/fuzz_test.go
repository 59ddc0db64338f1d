package directiveorder

import (
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// FuzzDirectiveParsing feeds arbitrary blocks to every gpugate directive and
// global option: the Caddyfile adapter answers a config or an error, and
// never panics or hangs.
func FuzzDirectiveParsing(f *testing.F) {
	for _, seed := range []string{
		"jwt_auth {\n secret {env.S} HS256\n claim_header sub X-User-Id\n}",
		"jwt_auth {\n jwks https://idp.example/jwks {\n refresh 1h\n }\n}",
		"usage_plan basic {\n key_source header X-Key\n cost 10\n refund_on 5xx\n}",
		"runpod serverless {\n api_key {env.K}\n endpoint a ep-1\n}",
		"runpod pods {\n api_key {env.K}\n default gpu_count 2\n allow_images runpod/*\n}",
		"modal https://a--b.modal.run {\n bearer {env.B}\n replace_prefix /api /api/v1\n}",
		"cors {\n origins https://a.example.com\n max_age 10m\n}",
		"json_map {\n request {\n rename a b\n wrap c d\n }\n}",
		"auth_cache {\n key {http.request.header.Authorization}\n ttl 5m\n headers X-K\n respond ok\n}",
		"route_metrics api", "gpugate_health ready", "gpugate_request_policy", "handle_errors {\n gateway_error\n}",
		"jwt_auth {", "runpod", "modal {\n}", "cors {\n origins\n}", "}}}", "{{{",
	} {
		f.Add(seed, "plan basic {\n throttle rate 5 burst 10\n quota 100 per day\n}")
	}
	f.Fuzz(func(t *testing.T, site, plans string) {
		src := "{\n\tusage_plans {\n\t\tstore memory://\n" + plans + "\n\t}\n}\n:8443 {\n" + site + "\n}\n"
		_, _ = adapttest.Adapt(src)
	})
}
