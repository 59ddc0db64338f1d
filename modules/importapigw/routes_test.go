package importapigw

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// exportOf builds an export from a JSON literal.
func exportOf(t *testing.T, doc string) *Export {
	t.Helper()
	var e Export
	if err := json.Unmarshal([]byte(doc), &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

var onePlan = UsagePlans{Items: []UsagePlan{{ID: "p1", Name: "basic", Throttle: &ThrottleSettings{BurstLimit: 5, RateLimit: 1}}}}

// TestRouteOrder: literal resources come before parameters, parameters
// before a greedy {proxy+}, a method before ANY, as API Gateway matches.
func TestRouteOrder(t *testing.T) {
	t.Parallel()
	mock := `{"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},"responses":{"default":{"statusCode":"200"}}}}`
	e := exportOf(t, `{"openapi":"3.0.1","paths":{
		"/{proxy+}":{"x-amazon-apigateway-any-method":`+mock+`},
		"/pets/{id}":{"get":`+mock+`,"x-amazon-apigateway-any-method":`+mock+`},
		"/pets/mine":{"get":`+mock+`}}}`)
	res, err := Generate(Input{Plans: onePlan, Export: e}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Caddyfile)
	order := []string{"handle @get_pets_mine", "handle @get_pets_id", "handle @any_pets_id", "handle @any_proxy"}
	last := -1
	for _, h := range order {
		i := strings.Index(out, h)
		if i < 0 || i < last {
			t.Fatalf("%s out of order:\n%s", h, out)
		}
		last = i
	}
	if !strings.Contains(out, "path_regexp any_proxy ^/(.+)$") || !strings.Contains(out, "path_regexp get_pets_id ^/pets/([^/]+)$") {
		t.Errorf("patterns:\n%s", out)
	}
	if _, err := adapttest.Adapt(out); err != nil {
		t.Errorf("adapt: %v", err)
	}
}

// TestCognitoAuthorizer: a Cognito user pool authorizer becomes jwt_auth
// with the pool's OIDC issuer and the method's scopes; a method behind
// IAM fails closed.
func TestCognitoAuthorizer(t *testing.T) {
	t.Parallel()
	e := exportOf(t, `{"openapi":"3.0.1","paths":{
		"/me":{"get":{"security":[{"pool":["profile/read"]}],
			"x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"https://app.example.com/me"}}},
		"/iam":{"get":{"security":[{"sigv4":[]}],
			"x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"https://app.example.com/iam"}}}},
		"components":{"securitySchemes":{
			"pool":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"cognito_user_pools",
				"x-amazon-apigateway-authorizer":{"type":"cognito_user_pools","providerARNs":["arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf"]}},
			"sigv4":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"awsSigv4"}}}}`)
	res, err := Generate(Input{Plans: onePlan, Export: e}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Caddyfile)
	for _, want := range []string{"oidc https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf", "require_scopes profile/read", "Refused until the authorizer is migrated: IAM (SigV4) authorization"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "usage_plan basic") {
		t.Error("a method without an API key requirement got a usage_plan")
	}
	if _, err := adapttest.Adapt(out); err != nil {
		t.Errorf("adapt: %v", err)
	}
}

// TestInputErrors: wrong files are refused with what to pass instead.
func TestInputErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := readExport(write("e.yaml", "openapi: 3.0.1\n")); err == nil || !strings.Contains(err.Error(), "export JSON instead") {
		t.Errorf("YAML export: %v", err)
	}
	if _, err := readExport(write("stdout.json", `{"contentType":"application/json","contentDisposition":"attachment"}`)); err == nil || !strings.Contains(err.Error(), "not its stdout") {
		t.Errorf("get-export stdout: %v", err)
	}
	var p UsagePlans
	if err := readJSON(write("text.txt", "a1b2c3\tGPU Standard\n"), &p); err == nil || !strings.Contains(err.Error(), "--output json") {
		t.Errorf("text output: %v", err)
	}
	if _, err := Generate(Input{}, Options{}); err == nil || !strings.Contains(err.Error(), "get-usage-plans") {
		t.Errorf("no plans: %v", err)
	}
}
