package usageplan

import (
	"errors"
	"fmt"
	"strings"
)

var (
	errNoPlans      = errors.New("usage_plan: name at least one plan, e.g. usage_plan basic")
	errNegativeCost = errors.New("usage_plan: cost must be 0 or more (cost 0 admits without using quota)")
)

func errRefundOn(f string) error {
	return fmt.Errorf("usage_plan: refund_on %q: write refund_on 5xx, refund_on timeout, or both", f)
}

func errUnknownPlan(p string, declared []string) error {
	return fmt.Errorf("usage_plan: unknown plan %q; declare it in the usage_plans global option (declared: %s)", p, strings.Join(declared, ", "))
}
