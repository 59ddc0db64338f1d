package usageplan

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// TestAdaptGolden adapts every testdata/*.caddyfile and compares the JSON
// with the .json file beside it (GPUGATE_UPDATE_GOLDEN=1 rewrites them).
func TestAdaptGolden(t *testing.T) { adapttest.Golden(t, "testdata") }

const validGlobal = `{
	usage_plans {
		store memory://
		plan basic {
			throttle rate 10 burst 20
		}
	}
}
`

// TestAdaptErrors checks that mistakes fail at adapt time with a message
// that names the directive and says what to write instead.
func TestAdaptErrors(t *testing.T) {
	global := func(body string) string {
		return "{\n\tusage_plans {\n" + body + "\n\t}\n}\n:8080 {\n\trespond ok\n}\n"
	}
	site := func(body string) string { return validGlobal + ":8080 {\n" + body + "\n\trespond ok\n}\n" }
	cases := []struct {
		name, src string
		want      []string
	}{
		{"store scheme", global("store mysql://db"), []string{"usage_plans: store scheme", "memory://", "redis://"}},
		{"store redis db", global("store redis://:pw@127.0.0.1:6379/abc"), []string{"usage_plans: store: redis URL", `database "abc": write a number`}},
		{"store redis several hosts", global("store redis://a:1,b:2"), []string{"usage_plans: store: redis URL", "redis+cluster://"}},
		{"store redis ca_file without TLS", global("store redis://h:6379/0?ca_file=/ca.pem"), []string{"usage_plans: store: redis URL", "rediss://"}},
		{"hold without cap", "{\n\tusage_plans {\n\t\tplan p {\n\t\t\tconcurrency 0 hold_after_disconnect 1m\n\t\t}\n\t}\n}\n", []string{"usage_plans: write concurrency <n>"}},
		{"hold duration", global("plan p {\n concurrency 2 hold_after_disconnect forever\n}"), []string{`hold_after_disconnect "forever"`, "10m"}},
		{"store missing", global("store"), []string{"usage_plans: store needs a URL"}},
		{"on_store_error", global("on_store_error maybe"), []string{"on_store_error deny or on_store_error allow"}},
		{"store_timeout", global("store_timeout soon"), []string{"store_timeout", "100ms"}},
		{"unknown subdirective", global("plans x"), []string{`unknown subdirective "plans"`, "plan, key"}},
		{"throttle shape", global("plan a {\n throttle 10 20\n}"), []string{"throttle rate <req/s> burst <n>"}},
		{"throttle zero rate", global("plan a {\n throttle rate 0 burst 5\n}"), []string{"throttle rate", "above 0"}},
		{"throttle zero burst", global("plan a {\n throttle rate 5 burst 0\n}"), []string{"burst", "at least 1"}},
		{"override path", global("plan a {\n throttle POST generate rate 1 burst 1\n}"), []string{"must start with /"}},
		{"quota period", global("plan a {\n quota 100 per year\n}"), []string{`quota period "year"`, "day, week or month"}},
		{"quota shape", global("plan a {\n quota 100 daily\n}"), []string{"quota <n> per day|week|month"}},
		{"quota offset too long", global("plan a {\n quota 100 per day offset 25h\n}"), []string{"offset", "less than 24h"}},
		{"concurrency", global("plan a {\n concurrency 0\n}"), []string{"concurrency <n>", "at least 1"}},
		{"plan setting", global("plan a {\n rate 5\n}"), []string{`unknown subdirective "rate"`, "throttle, quota, concurrency"}},
		{"meter no source", global("plan a {\n meter gpu\n}"), []string{"meter <name> <source>", "runpod_execution"}},
		{"meter unknown source", global("plan a {\n meter gpu gpu_time\n}"), []string{`unknown source "gpu_time"`, "header:<Name>"}},
		{"meter usd without price", global("plan a {\n meter usd runpod_execution {\n unit usd\n }\n}"), []string{"unit usd needs a price"}},
		{"meter price shape", global("plan a {\n meter usd runpod_execution {\n unit usd\n price 2 an hour\n }\n}"), []string{"price <usd> per hour|second"}},
		{"budget unknown meter", global("plan a {\n budget gpu 10 per day\n}"), []string{`budget for unknown meter "gpu"`}},
		{"budget twice", global("plan a {\n meter gpu runpod_execution\n budget gpu 10 per day\n budget gpu 100 per month\n}"), []string{"meter gpu has two budgets"}},
		{"budget status", global("plan a {\n meter gpu runpod_execution\n budget gpu 10 per day on_exhausted 403\n}"), []string{"on_exhausted 429 or on_exhausted 402"}},
		{"budget limit", global("plan a {\n meter gpu runpod_execution\n budget gpu none per day\n}"), []string{`budget gpu "none"`, "above 0"}},
		{"plan twice", global("plan a {\n concurrency 1\n}\nplan a {\n concurrency 2\n}"), []string{"plan a is declared twice"}},
		{"key no plans", global("plan a {\n concurrency 1\n}\nkey k {\n hash sha256:" + strings.Repeat("a", 64) + "\n}"), []string{"key k has no plans", "plans basic"}},
		{"key unknown plan", global("plan a {\n concurrency 1\n}\nkey k {\n value {env.K}\n plans b\n}"), []string{`unknown plan "b"`, "declared plans: a"}},
		{"key bad hash", global("plan a {\n concurrency 1\n}\nkey k {\n hash md5:abc\n plans a\n}"), []string{"sha256: followed by 64"}},
		{"key hash and value", global("plan a {\n concurrency 1\n}\nkey k {\n hash sha256:" + strings.Repeat("a", 64) + "\n value {env.K}\n plans a\n}"), []string{"exactly one of hash"}},
		{"key literal value", global("plan a {\n concurrency 1\n}\nkey p {\n value gpg_PLAINTEXTSECRETKEY1234567890\n plans a\n}"), []string{"usage_plans: key p value", "{env.NAME}", "never literally"}},
		{"key value env prefix", global("plan a {\n concurrency 1\n}\nkey p {\n value {$HOME}x\n plans a\n}"), []string{"usage_plans: key p value", "placeholder"}},
		{"directive without plans", site("usage_plan"), []string{"usage_plan: name at least one plan"}},
		{"directive unknown plan", site("usage_plan gold"), []string{`usage_plan: unknown plan "gold"`, "declared: basic"}},
		{"directive without global", ":8080 {\n usage_plan basic\n}", []string{"usage_plan: no usage plans are configured", "usage_plans {"}},
		{"negative cost", site("usage_plan basic {\n cost -1\n}"), []string{"usage_plan: write cost <n>"}},
		{"refund_on", site("usage_plan basic {\n refund_on 4xx\n}"), []string{`refund_on "4xx"`, "refund_on 5xx"}},
		{"key_source kind", site("usage_plan basic {\n key_source cookie k\n}"), []string{`key_source "cookie"`, "header <Name>"}},
		{"key_source placeholder", site("usage_plan basic {\n key_source placeholder plan_key\n}"), []string{"{http.auth.user.plan_key}"}},
		{"unknown setting", site("usage_plan basic {\n costs 2\n}"), []string{`usage_plan: unknown subdirective "costs"`, "cost"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { adapttest.Error(t, c.src, c.want...) })
	}
}

// TestAdaptKeepsSecretPlaceholder: a key value from the environment stays a
// placeholder in the adapted JSON.
func TestAdaptKeepsSecretPlaceholder(t *testing.T) {
	t.Setenv("PARTNER_KEY", "gpg_supersecretvalue")
	out, err := adapttest.Adapt("{\n usage_plans {\n plan a {\n concurrency 1\n }\n key p {\n value {env.PARTNER_KEY}\n plans a\n }\n }\n}\n:8080 {\n usage_plan a\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("supersecret")) || !bytes.Contains(out, []byte("{env.PARTNER_KEY}")) {
		t.Fatalf("adapted JSON must keep the placeholder, not the secret:\n%s", out)
	}
}

// TestValidateRefusesLiteralKeyValue: JSON config (not from a Caddyfile)
// with a literal key value fails at validate too, without echoing it.
func TestValidateRefusesLiteralKeyValue(t *testing.T) {
	app := &App{Store: "memory://lit", Plans: basicPlans(), Keys: []StaticKey{{Name: "p", Value: "gpg_PLAINTEXTSECRETKEY1234567890", Plans: []string{"basic"}}}}
	err := app.Validate()
	if err == nil || !strings.Contains(err.Error(), "{env.NAME}") || strings.Contains(err.Error(), "PLAINTEXT") {
		t.Fatalf("validate with a literal key value: %v", err)
	}
	app.Keys[0].Value = "{file./run/secrets/partner}"
	if err := app.Validate(); err != nil {
		t.Fatalf("a {file.*} placeholder is fine: %v", err)
	}
}
