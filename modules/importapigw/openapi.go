package importapigw

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Export is the OpenAPI document `aws apigateway get-export --export-type
// oas30 --parameters extensions=apigateway` writes for a stage (Swagger 2.0
// exports, --export-type swagger, have the same extensions and are read too).
type Export struct {
	// OpenAPI is "3.0.1" for oas30 exports; Swagger is "2.0" otherwise.
	OpenAPI string `json:"openapi,omitempty"`
	Swagger string `json:"swagger,omitempty"`
	// Info names the API.
	Info struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	// Servers (oas30) holds the invoke URL and the stage as the basePath
	// variable; Host and BasePath are Swagger 2.0's.
	Servers []struct {
		URL       string `json:"url"`
		Variables map[string]struct {
			Default string `json:"default"`
		} `json:"variables,omitempty"`
	} `json:"servers,omitempty"`
	Host     string `json:"host,omitempty"`
	BasePath string `json:"basePath,omitempty"`
	// Paths maps a resource path to its path item (methods keyed by
	// lower-case name, "x-amazon-apigateway-any-method", "parameters").
	Paths map[string]map[string]json.RawMessage `json:"paths"`
	// Security is the default requirement of every method.
	Security []map[string][]string `json:"security,omitempty"`
	// Components.SecuritySchemes (oas30) or SecurityDefinitions (2.0)
	// declare the API key and the authorizers.
	Components struct {
		SecuritySchemes map[string]SecurityScheme `json:"securitySchemes,omitempty"`
	} `json:"components"`
	SecurityDefinitions map[string]SecurityScheme `json:"securityDefinitions,omitempty"`

	// API Gateway extensions at the top level.
	APIKeySource           string                      `json:"x-amazon-apigateway-api-key-source,omitempty"`
	GatewayResponses       map[string]GatewayResponse  `json:"x-amazon-apigateway-gateway-responses,omitempty"`
	RequestValidators      map[string]RequestValidator `json:"x-amazon-apigateway-request-validators,omitempty"`
	RequestValidator       string                      `json:"x-amazon-apigateway-request-validator,omitempty"`
	BinaryMediaTypes       []string                    `json:"x-amazon-apigateway-binary-media-types,omitempty"`
	MinimumCompressionSize *int64                      `json:"x-amazon-apigateway-minimum-compression-size,omitempty"`
	Policy                 json.RawMessage             `json:"x-amazon-apigateway-policy,omitempty"`
	EndpointConfiguration  json.RawMessage             `json:"x-amazon-apigateway-endpoint-configuration,omitempty"`
}

// Operation is one method of a resource.
type Operation struct {
	// OperationID names the method (optional).
	OperationID string `json:"operationId,omitempty"`
	// Security overrides the document's default when present (an empty
	// list means no authorization).
	Security *[]map[string][]string `json:"security,omitempty"`
	// RequestValidator names an entry of x-amazon-apigateway-request-validators.
	RequestValidator string `json:"x-amazon-apigateway-request-validator,omitempty"`
	// Integration is the method's backend.
	Integration *Integration `json:"x-amazon-apigateway-integration,omitempty"`
}

// Integration is an x-amazon-apigateway-integration object.
type Integration struct {
	// Type is http, http_proxy, aws, aws_proxy or mock (any case).
	Type string `json:"type"`
	// URI is the backend URL (http*) or the Lambda invocation ARN (aws*).
	URI string `json:"uri,omitempty"`
	// HTTPMethod is the method sent to the backend.
	HTTPMethod string `json:"httpMethod,omitempty"`
	// ConnectionType is INTERNET or VPC_LINK; ConnectionID the VPC link.
	ConnectionType string `json:"connectionType,omitempty"`
	ConnectionID   string `json:"connectionId,omitempty"`
	// Credentials is the IAM role API Gateway assumes.
	Credentials string `json:"credentials,omitempty"`
	// RequestParameters maps integration.request.* to method.request.*,
	// a 'static' value or context variables.
	RequestParameters map[string]string `json:"requestParameters,omitempty"`
	// RequestTemplates are VTL mapping templates by content type.
	RequestTemplates map[string]string `json:"requestTemplates,omitempty"`
	// PassthroughBehavior and ContentHandling govern templates and binary
	// conversion.
	PassthroughBehavior string `json:"passthroughBehavior,omitempty"`
	ContentHandling     string `json:"contentHandling,omitempty"`
	// TimeoutInMillis is the integration timeout (API Gateway's maximum
	// was 29000 by default).
	TimeoutInMillis int64 `json:"timeoutInMillis,omitempty"`
	// Responses are the integration responses keyed by selection pattern.
	Responses map[string]IntegrationResponse `json:"responses,omitempty"`
	// CacheKeyParameters and CacheNamespace configure the stage cache.
	CacheKeyParameters []string `json:"cacheKeyParameters,omitempty"`
	CacheNamespace     string   `json:"cacheNamespace,omitempty"`
	// TLSConfig is e.g. {"insecureSkipVerification": true}.
	TLSConfig json.RawMessage `json:"tlsConfig,omitempty"`
}

// IntegrationResponse maps a backend answer onto the method response.
type IntegrationResponse struct {
	// StatusCode is the method response status.
	StatusCode string `json:"statusCode"`
	// ResponseParameters maps method.response.header.* to values.
	ResponseParameters map[string]string `json:"responseParameters,omitempty"`
	// ResponseTemplates are body templates by content type.
	ResponseTemplates map[string]string `json:"responseTemplates,omitempty"`
	// ContentHandling converts binary bodies.
	ContentHandling string `json:"contentHandling,omitempty"`
}

// SecurityScheme declares the API key or an authorizer.
type SecurityScheme struct {
	// Type is apiKey for API keys and authorizers alike; Name and In say
	// where the credential is read.
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	In   string `json:"in,omitempty"`
	// AuthType is custom (Lambda authorizer), cognito_user_pools or awsSigv4.
	AuthType string `json:"x-amazon-apigateway-authtype,omitempty"`
	// Authorizer configures a Lambda or Cognito authorizer.
	Authorizer *Authorizer `json:"x-amazon-apigateway-authorizer,omitempty"`
}

// Authorizer is an x-amazon-apigateway-authorizer object.
type Authorizer struct {
	// Type is token, request or cognito_user_pools.
	Type string `json:"type"`
	// AuthorizerURI is the Lambda invocation ARN.
	AuthorizerURI         string `json:"authorizerUri,omitempty"`
	AuthorizerCredentials string `json:"authorizerCredentials,omitempty"`
	// IdentitySource is e.g. method.request.header.Authorization.
	IdentitySource               string `json:"identitySource,omitempty"`
	IdentityValidationExpression string `json:"identityValidationExpression,omitempty"`
	// AuthorizerResultTTLInSeconds is how long results are cached (300 by default).
	AuthorizerResultTTLInSeconds *int64 `json:"authorizerResultTtlInSeconds,omitempty"`
	// ProviderARNs are the Cognito user pools.
	ProviderARNs []string `json:"providerARNs,omitempty"`
}

// GatewayResponse is an entry of x-amazon-apigateway-gateway-responses.
type GatewayResponse struct {
	// StatusCode replaces the type's status.
	StatusCode string `json:"statusCode,omitempty"`
	// ResponseParameters sets headers: gatewayresponse.header.<Name>.
	ResponseParameters map[string]string `json:"responseParameters,omitempty"`
	// ResponseTemplates are bodies by content type.
	ResponseTemplates map[string]string `json:"responseTemplates,omitempty"`
}

// RequestValidator is an entry of x-amazon-apigateway-request-validators.
type RequestValidator struct {
	// ValidateRequestBody checks the body against the method's model;
	// ValidateRequestParameters checks required parameters.
	ValidateRequestBody       bool `json:"validateRequestBody"`
	ValidateRequestParameters bool `json:"validateRequestParameters"`
}

// readExport reads an export file (JSON).
func readExport(file string) (*Export, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "openapi:") || strings.HasPrefix(t, "swagger:") {
		return nil, fmt.Errorf("%s: a YAML export; export JSON instead (get-export without --accepts application/yaml)", file)
	}
	var e Export
	if err := readJSON(file, &e); err != nil {
		return nil, err
	}
	if e.OpenAPI == "" && e.Swagger == "" {
		return nil, fmt.Errorf("%s: no openapi or swagger field; pass the file get-export wrote (its last argument), not its stdout", file)
	}
	return &e, nil
}

// securitySchemes returns the declared schemes of either OpenAPI version.
func (e *Export) securitySchemes() map[string]SecurityScheme {
	if len(e.Components.SecuritySchemes) > 0 {
		return e.Components.SecuritySchemes
	}
	return e.SecurityDefinitions
}

// stageOf returns the REST API id and stage the export describes, as far as
// its server URL says (empty when unknown).
func (e *Export) stageOf() (apiID, stage string) {
	host, base := e.Host, e.BasePath
	if len(e.Servers) > 0 {
		s := e.Servers[0]
		raw := s.URL
		for name, v := range s.Variables {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
		if u, err := url.Parse(raw); err == nil {
			host, base = u.Host, u.Path
		}
	}
	if i := strings.Index(host, ".execute-api."); i > 0 {
		apiID = host[:i]
	}
	stage = strings.Trim(base, "/")
	if strings.Contains(stage, "/") {
		stage = "" // a custom domain's base path mapping, not a stage
	}
	return apiID, stage
}

// httpMethods are the path item keys that are methods, in output order.
var httpMethods = []string{"get", "head", "post", "put", "patch", "delete", "options", "x-amazon-apigateway-any-method"}

// operations returns the methods of one path item, in httpMethods order.
func operations(item map[string]json.RawMessage) ([]string, map[string]Operation, error) {
	var names []string
	ops := map[string]Operation{}
	for _, m := range httpMethods {
		raw, ok := item[m]
		if !ok {
			continue
		}
		var op Operation
		if err := json.Unmarshal(raw, &op); err != nil {
			return nil, nil, fmt.Errorf("method %s: %v", m, err)
		}
		method := strings.ToUpper(m)
		if m == "x-amazon-apigateway-any-method" {
			method = "ANY"
		}
		names = append(names, method)
		ops[method] = op
	}
	return names, ops, nil
}
