package importapigw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/gpugate/gpugate/modules/usageplan"
)

// KeyInput is what the importer reads to import keys.
type KeyInput struct {
	// Plans is `get-usage-plans` (for the gpugate plan names).
	Plans UsagePlans
	// Keys is `get-api-keys --include-values`.
	Keys APIKeys
	// PlanKeys maps a usage plan id to its `get-usage-plan-keys` output.
	PlanKeys map[string]UsagePlanKeys
}

// minKeyValue is the shortest value the gateway accepts for an imported
// key (API Gateway's own minimum for imported keys).
const minKeyValue = 20

// PlanKeys returns the keys to create in the gateway, with the gpugate plans
// each belongs to, and notes on the keys that cannot be imported.
func PlanKeys(in KeyInput) ([]usageplan.NewKey, []Note, error) {
	var ns notes
	names := namePlans(in.Plans.Items, &ns)
	ns = nil // plan naming was reported with the Caddyfile
	plansOf := map[string][]string{}
	for _, id := range sortedKeys(in.PlanKeys) {
		name, ok := names[id]
		if !ok {
			return nil, nil, fmt.Errorf("--plan-keys %s: no usage plan with that id in the usage plans file", id)
		}
		for _, k := range in.PlanKeys[id].Items {
			if k.Type != "" && !strings.EqualFold(k.Type, "API_KEY") {
				ns.add("usage plan "+id, "key "+k.ID+" type="+k.Type, "only API_KEY keys exist in gpugate; skipped")
				continue
			}
			if !slices.Contains(plansOf[k.ID], name) {
				plansOf[k.ID] = append(plansOf[k.ID], name)
			}
		}
	}
	for _, p := range in.Plans.Items {
		if _, ok := in.PlanKeys[p.ID]; !ok {
			ns.add(planWhere(p), "keys", "no --plan-keys %s=<file> given: run aws apigateway get-usage-plan-keys --usage-plan-id %s, or its keys are imported without this plan", p.ID, p.ID)
		}
	}
	var out []usageplan.NewKey
	for _, k := range in.Keys.Items {
		where := fmt.Sprintf("API key %s %q", k.ID, k.Name)
		if k.Value == "" {
			return nil, nil, fmt.Errorf("%s has no value: run aws apigateway get-api-keys --include-values", where)
		}
		plans := plansOf[k.ID]
		if len(plans) == 0 {
			ns.add(where, "usage plans", "in no usage plan, so it could call no method that requires a key; not imported")
			continue
		}
		if len(k.Value) < minKeyValue {
			ns.add(where, "value", "shorter than %d characters, which the gateway refuses; not imported: issue the client a new key", minKeyValue)
			continue
		}
		name := strings.TrimSpace(k.Name)
		if name == "" {
			name = k.ID
		}
		if len(name) > 128 {
			name = name[:128]
		}
		sort.Strings(plans)
		enabled := k.Enabled
		desc := strings.TrimSpace(k.Description)
		if desc == "" {
			desc = "imported from API Gateway key " + k.ID
		} else {
			desc += " (API Gateway key " + k.ID + ")"
		}
		out = append(out, usageplan.NewKey{Name: name, Description: desc, Plans: plans, Enabled: &enabled, Value: k.Value})
		if k.CustomerID != "" {
			ns.add(where, "customerId", "not kept (no gpugate counterpart)")
		}
		if len(k.Tags) > 0 {
			ns.add(where, "tags", "not kept (gpugate keys have no tags)")
		}
	}
	return out, ns, nil
}

// AdminDoer sends one request to the gateway's admin endpoint (path below
// usageplan.AdminBase) and returns the answer's status and body; err is
// for requests that got no answer.
type AdminDoer func(method, path string, body []byte) (status int, answer []byte, err error)

// KeyOutcome is what happened to one key.
type KeyOutcome struct {
	// Name and Plans of the key; ID its new gpugate id (when created).
	Name  string   `json:"name"`
	Plans []string `json:"plans"`
	ID    string   `json:"id,omitempty"`
	// Result is "imported", "exists" (the value is already in the store)
	// or "failed"; Error says why it failed.
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// ImportKeys creates the keys through the admin API, values included (the
// gateway stores only their hashes). It first checks that the gateway
// declares every plan the keys name, so nothing is created when the
// Caddyfile is not loaded yet. A key whose value exists already is
// reported as "exists", so an import can be run again.
func ImportKeys(do AdminDoer, keys []usageplan.NewKey) ([]KeyOutcome, error) {
	declared, err := gatewayPlans(do)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		for _, p := range k.Plans {
			if !declared[p] {
				return nil, fmt.Errorf("the gateway has no plan %q (key %q needs it); load the generated Caddyfile first", p, k.Name)
			}
		}
	}
	var out []KeyOutcome
	for _, k := range keys {
		o := KeyOutcome{Name: k.Name, Plans: k.Plans}
		body, _ := json.Marshal(k)
		status, answer, err := do(http.MethodPost, "keys", body)
		if err != nil {
			return out, fmt.Errorf("creating key %q: %v", k.Name, err)
		}
		switch status {
		case http.StatusCreated:
			var kv usageplan.KeyView
			_ = json.Unmarshal(answer, &kv)
			o.ID, o.Result = kv.ID, "imported"
		case http.StatusConflict:
			o.Result = "exists"
		default:
			o.Result, o.Error = "failed", adminError(status, answer)
		}
		out = append(out, o)
	}
	return out, nil
}

// gatewayPlans lists the plans the running gateway declares.
func gatewayPlans(do AdminDoer) (map[string]bool, error) {
	status, answer, err := do(http.MethodGet, "plans", nil)
	if err != nil {
		return nil, fmt.Errorf("listing the gateway's plans: %v", err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("listing the gateway's plans: %s", adminError(status, answer))
	}
	var plans []usageplan.PlanView
	if err := json.Unmarshal(answer, &plans); err != nil {
		return nil, fmt.Errorf("listing the gateway's plans: %v", err)
	}
	out := map[string]bool{}
	for _, p := range plans {
		out[p.Name] = true
	}
	return out, nil
}

// adminError is the admin API's error message ({"error": "..."}).
func adminError(status int, answer []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(answer, &e) == nil && e.Error != "" {
		return fmt.Sprintf("%d: %s", status, e.Error)
	}
	return fmt.Sprintf("%d: %s", status, bytes.TrimSpace(answer))
}
