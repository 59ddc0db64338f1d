// Package gwerror produces every error response the gateway itself generates,
// for all gpugate modules, in one place. Defaults follow AWS API Gateway's
// gateway responses so existing clients keep working: a JSON body
// {"message":"..."} with the status of the response type.
package gwerror

import (
	"net/http"
)

// Type names a kind of gateway response, with AWS API Gateway's names.
type Type string

// The gateway response types gpugate emits.
const (
	AccessDenied               Type = "ACCESS_DENIED"
	BadRequestBody             Type = "BAD_REQUEST_BODY"
	BadRequestParameters       Type = "BAD_REQUEST_PARAMETERS"
	Default4XX                 Type = "DEFAULT_4XX"
	Default5XX                 Type = "DEFAULT_5XX"
	ExpiredToken               Type = "EXPIRED_TOKEN"
	IntegrationFailure         Type = "INTEGRATION_FAILURE"
	IntegrationTimeout         Type = "INTEGRATION_TIMEOUT"
	InvalidAPIKey              Type = "INVALID_API_KEY"
	MissingAuthenticationToken Type = "MISSING_AUTHENTICATION_TOKEN"
	QuotaExceeded              Type = "QUOTA_EXCEEDED"
	RequestTooLarge            Type = "REQUEST_TOO_LARGE"
	ResourceNotFound           Type = "RESOURCE_NOT_FOUND"
	Throttled                  Type = "THROTTLED"
	Unauthorized               Type = "UNAUTHORIZED"
	UnsupportedMediaType       Type = "UNSUPPORTED_MEDIA_TYPE"
	ConcurrencyLimited         Type = "CONCURRENCY_LIMITED"
	Conflict                   Type = "CONFLICT"
	UpstreamError              Type = "UPSTREAM_ERROR"
)

// Default is the response a type produces when the operator has not
// restyled it.
type Default struct {
	Status  int
	Message string
}

// table is every response type with its built-in default, in the order
// Types lists them: the one place a type is declared.
var table = [...]struct {
	Type
	Default
}{
	{AccessDenied, Default{http.StatusForbidden, "Forbidden"}},
	{BadRequestBody, Default{http.StatusBadRequest, "Invalid request body"}},
	{BadRequestParameters, Default{http.StatusBadRequest, "Invalid request parameters"}},
	{Default4XX, Default{http.StatusBadRequest, "Bad Request"}},
	{Default5XX, Default{http.StatusInternalServerError, "Internal server error"}},
	{ExpiredToken, Default{http.StatusUnauthorized, "Unauthorized"}},
	{IntegrationFailure, Default{http.StatusBadGateway, "Bad Gateway"}},
	{IntegrationTimeout, Default{http.StatusGatewayTimeout, "Endpoint request timed out"}},
	{InvalidAPIKey, Default{http.StatusForbidden, "Forbidden"}},
	{MissingAuthenticationToken, Default{http.StatusUnauthorized, "Unauthorized"}},
	{QuotaExceeded, Default{http.StatusTooManyRequests, "Limit Exceeded"}},
	{RequestTooLarge, Default{http.StatusRequestEntityTooLarge, "Request Too Long"}},
	{ResourceNotFound, Default{http.StatusNotFound, "Not Found"}},
	{Throttled, Default{http.StatusTooManyRequests, "Too Many Requests"}},
	{Unauthorized, Default{http.StatusUnauthorized, "Unauthorized"}},
	{UnsupportedMediaType, Default{http.StatusUnsupportedMediaType, "Unsupported Media Type"}},
	{ConcurrencyLimited, Default{http.StatusTooManyRequests, "Too Many Concurrent Requests"}},
	{Conflict, Default{http.StatusConflict, "Conflict"}},
	{UpstreamError, Default{http.StatusBadGateway, "Bad Gateway"}},
}

// DefaultOf returns the built-in response of t; an unknown type is a 500.
func DefaultOf(t Type) Default {
	for _, e := range table {
		if e.Type == t {
			return e.Default
		}
	}
	return Default{http.StatusInternalServerError, "Internal server error"}
}

// Types lists every response type, for configuration validation.
func Types() []Type {
	types := make([]Type, len(table))
	for i, e := range table {
		types[i] = e.Type
	}
	return types
}

// Response is one gateway error about to be written.
type Response struct {
	// Type selects the status and default message.
	Type Type
	// Status, when non-zero, overrides the type's status (e.g. an upstream
	// 409 or 422 kept for the client).
	Status int
	// Message, when non-empty, replaces the type's default message; it must
	// be safe to show a client (no secrets, no token text).
	Message string
	// Header holds extra response headers (WWW-Authenticate, Retry-After,
	// RateLimit...).
	Header http.Header
}

// StatusCode is the HTTP status resp is written with.
func (resp Response) StatusCode() int {
	if resp.Status != 0 {
		return resp.Status
	}
	return DefaultOf(resp.Type).Status
}

// Text is the client-facing message of resp.
func (resp Response) Text() string {
	if resp.Message != "" {
		return resp.Message
	}
	if resp.Status != 0 && resp.Status != DefaultOf(resp.Type).Status {
		return http.StatusText(resp.Status)
	}
	return DefaultOf(resp.Type).Message
}
