package importapigw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// The shapes below are the JSON the AWS CLI prints (`--output json`, the
// default) for the apigateway commands the importer reads. Fields the
// importer does not use are still declared when it reports them.

// UsagePlans is the output of `aws apigateway get-usage-plans`.
type UsagePlans struct {
	// Items are the plans; Position is the pagination token (the CLI
	// merges pages itself).
	Items    []UsagePlan `json:"items"`
	Position string      `json:"position,omitempty"`
}

// UsagePlan is one API Gateway usage plan.
type UsagePlan struct {
	// ID, Name and Description identify the plan.
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// APIStages are the API stages the plan is associated with, each with
	// optional per-method throttles.
	APIStages []APIStage `json:"apiStages,omitempty"`
	// Throttle and Quota are the plan's limits.
	Throttle *ThrottleSettings `json:"throttle,omitempty"`
	Quota    *QuotaSettings    `json:"quota,omitempty"`
	// ProductCode (AWS Marketplace) and Tags have no gpugate counterpart.
	ProductCode string            `json:"productCode,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// APIStage is a usage plan's association with an API stage.
type APIStage struct {
	// APIID and Stage name the stage.
	APIID string `json:"apiId"`
	Stage string `json:"stage"`
	// Throttle maps "<resourcePath>/<HTTP method>" (e.g. "/pets/GET") to a
	// per-method throttle.
	Throttle map[string]ThrottleSettings `json:"throttle,omitempty"`
}

// ThrottleSettings is a token bucket: RateLimit requests per second
// refilling a bucket of BurstLimit requests.
type ThrottleSettings struct {
	// BurstLimit is the bucket size; RateLimit the refill rate.
	BurstLimit int64   `json:"burstLimit"`
	RateLimit  float64 `json:"rateLimit"`
}

// QuotaSettings is a plan's quota.
type QuotaSettings struct {
	// Limit requests per Period (DAY, WEEK or MONTH); Offset is the number
	// of requests subtracted from the limit in the plan's first period.
	Limit  int64  `json:"limit"`
	Offset int64  `json:"offset"`
	Period string `json:"period"`
}

// APIKeys is the output of `aws apigateway get-api-keys --include-values`.
type APIKeys struct {
	// Items are the keys; Warnings are import warnings AWS may add.
	Items    []APIKey `json:"items"`
	Warnings []string `json:"warnings,omitempty"`
	Position string   `json:"position,omitempty"`
}

// APIKey is one API Gateway API key.
type APIKey struct {
	// ID is the key's id; Value its secret value (only with
	// --include-values).
	ID    string `json:"id"`
	Value string `json:"value,omitempty"`
	// Name, Description and Enabled carry over to gpugate.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
	// CustomerID (AWS Marketplace), StageKeys (the pre-usage-plan
	// association) and Tags have no gpugate counterpart.
	CustomerID string            `json:"customerId,omitempty"`
	StageKeys  []string          `json:"stageKeys,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	// CreatedDate and LastUpdatedDate are epoch seconds (CLI v1) or
	// ISO 8601 strings (CLI v2); they are not used.
	CreatedDate     json.RawMessage `json:"createdDate,omitempty"`
	LastUpdatedDate json.RawMessage `json:"lastUpdatedDate,omitempty"`
}

// UsagePlanKeys is the output of `aws apigateway get-usage-plan-keys
// --usage-plan-id <id>`: the keys of one plan. The output does not name the
// plan; the command line pairs each file with its plan id.
type UsagePlanKeys struct {
	// Items are the plan's keys.
	Items    []UsagePlanKey `json:"items"`
	Position string         `json:"position,omitempty"`
}

// UsagePlanKey is a key's membership in a plan.
type UsagePlanKey struct {
	// ID is the API key's id; Type is API_KEY; Value and Name are the key's.
	ID    string `json:"id"`
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
	Name  string `json:"name,omitempty"`
}

// readJSON decodes the AWS CLI output in file into v. Unknown fields are
// allowed (AWS adds fields over time).
func readJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	if t := bytes.TrimSpace(b); len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return fmt.Errorf("%s: not JSON; run the AWS CLI with --output json (the default)", file)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	return nil
}
