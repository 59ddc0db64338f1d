package directive

import (
	"strings"
	"testing"
)

func TestCheckSecretPlaceholder(t *testing.T) {
	for _, ok := range []string{"{env.MODAL_KEY}", "{file./run/secrets/modal}"} {
		if err := CheckSecretPlaceholder("modal bearer", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "sk-literal-secret", "{env.}", "{file.}", "{http.request.header.X}", "pre{env.X}", "{env.X}{env.Y}"} {
		err := CheckSecretPlaceholder("modal bearer", bad)
		if err == nil {
			t.Errorf("%q: want an error", bad)
			continue
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("%q: the error repeats the value: %v", bad, err)
		}
		if !strings.Contains(err.Error(), "modal bearer") || !strings.Contains(err.Error(), "{env.NAME}") {
			t.Errorf("%q: error should name the directive and the fix: %v", bad, err)
		}
	}
}
