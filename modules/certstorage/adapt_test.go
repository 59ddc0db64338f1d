package certstorage

import (
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// TestAdaptGolden adapts every testdata Caddyfile and compares the JSON with
// the golden file beside it (GPUGATE_UPDATE_GOLDEN=1 rewrites them).
func TestAdaptGolden(t *testing.T) { adapttest.Golden(t, "testdata") }

func TestAdaptErrors(t *testing.T) {
	cases := []struct {
		name, storage string
		wants         []string
	}{
		{"no url", "storage gpugate_redis", []string{"no url; write url {env.REDIS_URL}"}},
		{"literal password", "storage gpugate_redis redis://:hunter2@redis:6379/0", []string{"literal password", "url {env.REDIS_URL}"}},
		{"literal password in block", "storage gpugate_redis {\n url redis://user:hunter2@redis:6379/0\n}", []string{"literal password"}},
		{"url twice", "storage gpugate_redis {env.A} {\n url {env.B}\n}", []string{"url given twice"}},
		{"two arguments", "storage gpugate_redis {env.A} {env.B}", []string{"takes one argument, the URL"}},
		{"bad scheme", "storage gpugate_redis {\n url http://redis:6379\n}", []string{`unknown scheme "http"`}},
		{"bad duration", "storage gpugate_redis {env.A} {\n lock_ttl soon\n}", []string{`lock_ttl "soon" is not a positive duration`, "lock_ttl 30s"}},
		{"short lock ttl", "storage gpugate_redis {env.A} {\n lock_ttl 100ms\n}", []string{"at least lock_ttl 1s"}},
		{"bad prefix", "storage gpugate_redis {env.A} {\n prefix {x}\n}", []string{"prefix", "without braces"}},
		{"no value", "storage gpugate_redis {env.A} {\n timeout\n}", []string{"timeout: exactly one value is needed", "timeout 5s"}},
		{"unknown", "storage gpugate_redis {env.A} {\n password x\n}", []string{`unknown subdirective "password"`, "url, prefix, lock_ttl, timeout"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			adapttest.Error(t, "{\n"+c.storage+"\n}\n:8080 {\n respond ok\n}\n", append(c.wants, "gpugate_redis")...)
		})
	}
}
