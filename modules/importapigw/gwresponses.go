package importapigw

import (
	"regexp"
	"strconv"
	"strings"
)

// gwerrorTypes are the response types the gateway_responses option knows.
var gwerrorTypes = map[string]bool{
	"ACCESS_DENIED": true, "BAD_REQUEST_BODY": true, "BAD_REQUEST_PARAMETERS": true, "CONCURRENCY_LIMITED": true,
	"CONFLICT": true, "DEFAULT_4XX": true, "DEFAULT_5XX": true, "EXPIRED_TOKEN": true, "INTEGRATION_FAILURE": true,
	"INTEGRATION_TIMEOUT": true, "INVALID_API_KEY": true, "MISSING_AUTHENTICATION_TOKEN": true, "QUOTA_EXCEEDED": true,
	"REQUEST_TOO_LARGE": true, "RESOURCE_NOT_FOUND": true, "THROTTLED": true, "UNAUTHORIZED": true,
	"UNSUPPORTED_MEDIA_TYPE": true, "UPSTREAM_ERROR": true,
}

// vtlVariable matches $context.x.y, $stageVariables.x, $input..., $util...
var vtlVariable = regexp.MustCompile(`\$\{?(context|stageVariables|input|util)((?:\.[A-Za-z0-9_]+)*)\}?`)

// vtlContext maps the $context variables of gateway response templates to
// gwerror template placeholders.
var vtlContext = map[string]string{
	"context.error.messageString": `"{message}"`, // the message as a quoted JSON string
	"context.error.message":       "{message}",
	"context.error.responseType":  "{type}",
	"context.requestId":           "{request_id}",
	"context.extendedRequestId":   "{request_id}",
	"context.path":                "{http.request.uri.path}",
	"context.resourcePath":        "{http.request.uri.path}",
	"context.httpMethod":          "{http.request.method}",
	"context.identity.sourceIp":   "{http.request.remote.host}",
	"context.identity.userAgent":  "{http.request.header.User-Agent}",
	"context.identity.apiKeyId":   "{http.usage_plan.key_id}",
}

// writeGatewayResponses writes the gateway_responses global option.
func (g *generator) writeGatewayResponses(w *cfWriter, grs map[string]GatewayResponse) {
	var types []string
	for _, t := range sortedKeys(grs) {
		where := "gateway response " + t
		if !gwerrorTypes[strings.ToUpper(t)] {
			g.ns.add(where, "responseType", "the gateway never produces this type (authorizer, signature and WAF failures do not exist here); not written")
			continue
		}
		types = append(types, t)
	}
	if len(types) == 0 {
		return
	}
	w.blank()
	w.comment("From x-amazon-apigateway-gateway-responses.")
	w.open("gateway_responses")
	for _, t := range types {
		gr := grs[t]
		where := "gateway response " + t
		var lines [][]string
		if gr.StatusCode != "" {
			if n, err := strconv.Atoi(gr.StatusCode); err == nil && n >= 100 && n <= 599 {
				lines = append(lines, []string{"status", gr.StatusCode})
			} else {
				g.ns.add(where, "statusCode="+gr.StatusCode, "not an HTTP status; not written")
			}
		}
		body, ctype := "", ""
		for _, ct := range sortedKeys(gr.ResponseTemplates) {
			if body == "" || ct == "application/json" {
				body, ctype = gr.ResponseTemplates[ct], ct
			}
		}
		if body != "" {
			lines = append(lines, []string{"body", quote(g.translateTemplate(body, where))})
			if ctype != "application/json" {
				lines = append(lines, []string{"header", "Content-Type", quote(ctype)})
			}
			if len(gr.ResponseTemplates) > 1 {
				g.ns.add(where, "responseTemplates", "one body is kept (%s); gpugate does not pick a template by the Accept header", ctype)
			}
		}
		for _, key := range sortedKeys(gr.ResponseParameters) {
			src := gr.ResponseParameters[key]
			name, ok := strings.CutPrefix(key, "gatewayresponse.header.")
			if !ok {
				g.ns.add(where, "responseParameters "+key, "only headers can be set; not written")
				continue
			}
			if g.cors != nil && strings.HasPrefix(strings.ToLower(name), "access-control-") {
				g.noteOnce("gr-cors", "gateway responses", "responseParameters gatewayresponse.header.Access-Control-*",
					"not written: the cors directive puts CORS headers on every gateway error already")
				continue
			}
			if v, ok := g.responseValue(src, where, key); ok {
				lines = append(lines, []string{"header", quote(name), quote(v)})
			}
		}
		if len(lines) == 0 {
			continue
		}
		w.open(strings.ToUpper(t))
		for _, l := range lines {
			w.line(l...)
		}
		w.close()
	}
	w.close()
}

// translateTemplate replaces the $context variables API Gateway fills in
// gateway response templates with gwerror placeholders.
func (g *generator) translateTemplate(body, where string) string {
	return vtlVariable.ReplaceAllStringFunc(body, func(m string) string {
		name := strings.Trim(strings.TrimPrefix(m, "$"), "{}")
		if v, ok := vtlContext[name]; ok {
			return v
		}
		g.ns.add(where, "responseTemplates $"+name, "no gateway counterpart; written as an empty value")
		return ""
	})
}

// responseValue translates a gateway response header source.
func (g *generator) responseValue(src, where, key string) (string, bool) {
	if v, ok := clientValue(src); ok {
		return v, true
	}
	if src == "context.requestId" || src == "context.extendedRequestId" {
		return "{request_id}", true
	}
	g.ns.add(where, "responseParameters "+key+"="+src, "no gateway counterpart for this source; not written")
	return "", false
}
