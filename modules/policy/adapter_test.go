package policy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/gpugate/gpugate" // every gpugate module, as in the binary
	"github.com/gpugate/gpugate/modules/policy"
)

// adapted is the part of an adapted config these tests read.
type adapted struct {
	Apps struct {
		HTTP struct {
			Servers map[string]struct {
				Routes []struct {
					Handle []map[string]any `json:"handle"`
				} `json:"routes"`
			} `json:"servers"`
		} `json:"http"`
	} `json:"apps"`
	Logging struct {
		Logs map[string]struct {
			Encoder map[string]any `json:"encoder"`
		} `json:"logs"`
	} `json:"logging"`
}

func adapt(t *testing.T, caddyfile string) (adapted, []byte) {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter(policy.AdapterName).Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	var a adapted
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatal(err)
	}
	return a, out
}

// TestEveryShippedCaddyfileGetsThePolicy: each server runs the request
// policy first, and every log redacts the API key header.
func TestEveryShippedCaddyfileGetsThePolicy(t *testing.T) {
	files, _ := filepath.Glob("../../caddyfiles/*.Caddyfile")
	if len(files) == 0 {
		t.Fatal("no shipped Caddyfiles found")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			a, out := adapt(t, string(src))
			for name, srv := range a.Apps.HTTP.Servers {
				if len(srv.Routes) == 0 || len(srv.Routes[0].Handle) == 0 || srv.Routes[0].Handle[0]["handler"] != "gpugate_request_policy" {
					t.Errorf("server %s does not run the request policy first", name)
				}
			}
			if _, ok := a.Logging.Logs["default"]; !ok {
				t.Error("no default log")
			}
			for name, l := range a.Logging.Logs {
				filter := filterOf(t, l.Encoder)
				fields, _ := filter["fields"].(map[string]any)
				if fields["request>headers>X-Api-Key"] == nil {
					t.Errorf("log %s does not redact X-Api-Key: %v", name, l.Encoder)
				}
			}
			again, err := policy.Apply(out)
			if err != nil {
				t.Fatal(err)
			}
			var a2 adapted
			_ = json.Unmarshal(again, &a2)
			for name, l := range a2.Logging.Logs {
				if inner, _ := filterOf(t, l.Encoder)["wrap"].(map[string]any); inner["format"] == "filter" || inner["format"] == policy.LazyEncoderFormat {
					t.Errorf("log %s got the filter twice: %v", name, l.Encoder)
				}
			}
			for name, srv := range a2.Apps.HTTP.Servers {
				if len(srv.Routes) > 1 && srv.Routes[1].Handle[0]["handler"] == "gpugate_request_policy" {
					t.Errorf("server %s got the policy twice", name)
				}
			}
		})
	}
}

// filterOf returns the filter encoder of a log's encoder, failing the
// test unless it is the gateway's: the lazy encoder wrapping Caddy's filter.
func filterOf(t *testing.T, enc map[string]any) map[string]any {
	t.Helper()
	filter, _ := enc["wrap"].(map[string]any)
	if enc["format"] != policy.LazyEncoderFormat || filter == nil || filter["format"] != "filter" {
		t.Fatalf("the log encoder is not the lazy encoder wrapping the filter: %v", enc)
	}
	return filter
}

// TestPolicyKnowsWhatTheConfigReadsAndInjects: the credential locations and
// the injected headers come from the config itself.
func TestPolicyKnowsWhatTheConfigReadsAndInjects(t *testing.T) {
	a, out := adapt(t, `{
	usage_plans {
		store memory://
		plan basic {
			quota 10 per day
		}
	}
	log access {
		output stderr
		format json
	}
}
:8443 {
	log
	jwt_auth {
		secret {env.S}
		from query access_token
		claim_header sub X-User-Id
	}
	usage_plan basic {
		key_source header X-Partner-Key
	}
	reverse_proxy 127.0.0.1:9000 {
		header_up X-Gpugate-Plan {http.usage_plan.plan}
		header_up X-Static yes
	}
}`)
	policyHandler := a.Apps.HTTP.Servers["srv0"].Routes[0].Handle[0]
	var protected []string
	for _, v := range policyHandler["protected_headers"].([]any) {
		protected = append(protected, v.(string))
	}
	for _, want := range []string{"X-User-Id", "X-Gpugate-Plan"} {
		if !slices.Contains(protected, want) {
			t.Errorf("protected headers %v lack %s", protected, want)
		}
	}
	if slices.Contains(protected, "X-Static") {
		t.Error("a header with a constant value is not the gateway's identity header")
	}
	for name, l := range a.Logging.Logs {
		fields := filterOf(t, l.Encoder)["fields"].(map[string]any)
		if fields["request>headers>X-Partner-Key"] == nil {
			t.Errorf("log %s does not redact the key source's header", name)
		}
		uri, _ := json.Marshal(fields["request>uri"])
		if !strings.Contains(string(uri), `"parameter":"access_token"`) {
			t.Errorf("log %s does not redact the token's query parameter: %s", name, uri)
		}
	}
	if !strings.Contains(string(out), `"wrap":{"format":"json"}`) {
		t.Errorf("the configured json encoder is not kept inside the filter: %s", out)
	}
}

// TestProtectedHeadersOnProxyingServersOnly: a server that proxies deletes
// client copies of the injected headers; a server that answers by itself
// (an upstream in the same config) keeps the gateway's values it receives.
func TestProtectedHeadersOnProxyingServersOnly(t *testing.T) {
	a, _ := adapt(t, `:8443 {
	jwt_auth {
		secret {env.S}
		claim_header sub X-User-Id
	}
	reverse_proxy 127.0.0.1:9080
}
:9080 {
	respond "{http.request.header.X-User-Id}"
}`)
	for name, srv := range a.Apps.HTTP.Servers {
		policyHandler := srv.Routes[0].Handle[0]
		_, protects := policyHandler["protected_headers"]
		proxying := strings.Contains(fmt.Sprint(srv.Routes), "reverse_proxy")
		if protects != proxying {
			t.Errorf("server %s: protects injected headers %v, proxies %v", name, protects, proxying)
		}
	}
}

// TestErrorRoutesAnswerInTheGatewaysStyle: a server without handle_errors
// gets the gateway's error handler; an operator's handle_errors is kept.
func TestErrorRoutesAnswerInTheGatewaysStyle(t *testing.T) {
	_, out := adapt(t, `:8443 {
	reverse_proxy 127.0.0.1:9000
}
:9443 {
	reverse_proxy 127.0.0.1:9000
	handle_errors {
		respond "own page" 599
	}
}`)
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Listen []string `json:"listen"`
					Errors struct {
						Routes []struct {
							Handle []map[string]any `json:"handle"`
						} `json:"routes"`
					} `json:"errors"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, srv := range cfg.Apps.HTTP.Servers {
		routes := srv.Errors.Routes
		got := ""
		if len(routes) == 1 && len(routes[0].Handle) > 0 {
			got, _ = routes[0].Handle[0]["handler"].(string)
		}
		if strings.Contains(fmt.Sprint(srv.Listen), "8443") && got != "gpugate_error" {
			t.Errorf("server %v: error routes %v, want the gateway's error handler", srv.Listen, routes)
		}
		if strings.Contains(fmt.Sprint(srv.Listen), "9443") && strings.Contains(fmt.Sprint(routes), "gpugate_error") {
			t.Errorf("server %v: the operator's handle_errors was changed: %v", srv.Listen, routes)
		}
	}
	again, err := policy.Apply(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(again), `"gpugate_error"`) != 1 {
		t.Errorf("applying twice added the error handler again: %s", again)
	}
}
